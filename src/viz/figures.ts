// Figures as data: plotly.express-like builders (imshow, line, scatter, bar, hist) returning plotly.js figure
// objects. Options are camelCase; the seeds' snake_case keyword arguments (facet_col, hover_name, range_x, ...) are
// accepted as aliases, and any other key is a plotly layout path with plotly.py's "magic underscores"
// (bargap, hovermode, yaxis_tickformat, legend_title_text, ...), so the seeds' calls translate one to one.
// One module per figure kind under figures/; options.ts holds what they share.
export type { CommonOptions, TemplateName } from "./figures/options.js";
export { imshow, type ImshowOptions } from "./figures/imshow.js";
export { line, scatter, bar, type LineOptions, type ScatterOptions, type BarOptions } from "./figures/series.js";
export { hist, type HistOptions } from "./figures/hist.js";
