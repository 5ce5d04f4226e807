// Notebook display. Deno's Jupyter kernel shows any object with a `Symbol.for("Jupyter.display")` method (returning a
// MIME bundle) as the cell's output; tslab has no such protocol: it shows what `tslab.display.html(s)` sends. Every
// figure and viewer gets the Deno method (non-enumerable, so JSON and equality checks do not see it), and
// `display(item, tslab.display)` sends the HTML through tslab.
import { toHtmlFragment, type FragmentOptions } from "./html.js";
import type { Item } from "./types.js";

const JUPYTER_DISPLAY = Symbol.for("Jupyter.display");

/** A value a notebook can show: `_repr_html_()` (IPython's name), `toHtml()`, and Deno's display method. */
export interface DisplayObject {
  readonly items: readonly Item[];
  /** The items as one HTML fragment (IPython's display protocol). */
  _repr_html_(): string;
  /** The items as one HTML fragment. */
  toHtml(): string;
  /** Deno / tslab's rich display: the same HTML as a MIME bundle. */
  [JUPYTER_DISPLAY](): { "text/html": string };
}

/** Something with tslab's `display.html(s)` (tslab.display, or tslab.newDisplay()). */
export interface HtmlSink {
  /** Shows an HTML fragment in the notebook cell. */
  html(s: string): void;
}

/** Adds the (non-enumerable) Deno display method to a figure or viewer and returns it. */
export function attachDisplay<T extends object>(item: T): T {
  Object.defineProperty(item, JUPYTER_DISPLAY, {
    value: () => ({ "text/html": toHtmlFragment(item as unknown as Item) }),
    enumerable: false,
    configurable: true,
    writable: true,
  });
  return item;
}

/**
 * Shows figures/viewers in a notebook. With `sink` (tslab: `display(fig, tslab.display)`), the HTML goes out at once
 * and nothing is returned, so the cell shows the figure and nothing else (tslab prints a cell's last value).
 * Without one, returns a DisplayObject: the last expression of a Deno cell renders by itself; `_repr_html_()` gives
 * the HTML.
 */
export function display(items: Item | readonly Item[], sink: HtmlSink, opts?: FragmentOptions): void;
export function display(items: Item | readonly Item[], sink?: undefined, opts?: FragmentOptions): DisplayObject;
export function display(
  items: Item | readonly Item[],
  sink?: HtmlSink,
  opts: FragmentOptions = {},
): DisplayObject | void {
  const list = (Array.isArray(items) ? [...items] : [items]) as Item[];
  let cached: string | null = null;
  const html = (): string => (cached ??= toHtmlFragment(list, opts));
  if (sink) {
    sink.html(html());
    return;
  }
  return {
    items: list,
    _repr_html_: html,
    toHtml: html,
    [JUPYTER_DISPLAY]: () => ({ "text/html": html() }),
  };
}
