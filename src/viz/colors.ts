// Colour scales, qualitative palettes and layout templates as plotly.py's express uses them. plotly.js ships
// neither plotly.py's templates nor its colorbrewer scales (its own "RdBu" differs), so they are spelled out here.

/** plotly.py's `px.colors.sequential.RdBu` (colorbrewer): red for low values, white in the middle, blue for high. */
export const RdBu: readonly string[] = [
  "rgb(103,0,31)",
  "rgb(178,24,43)",
  "rgb(214,96,77)",
  "rgb(244,165,130)",
  "rgb(253,219,199)",
  "rgb(247,247,247)",
  "rgb(209,229,240)",
  "rgb(146,197,222)",
  "rgb(67,147,195)",
  "rgb(33,102,172)",
  "rgb(5,48,97)",
];
export const Blues: readonly string[] = [
  "rgb(247,251,255)",
  "rgb(222,235,247)",
  "rgb(198,219,239)",
  "rgb(158,202,225)",
  "rgb(107,174,214)",
  "rgb(66,146,198)",
  "rgb(33,113,181)",
  "rgb(8,81,156)",
  "rgb(8,48,107)",
];
export const Reds: readonly string[] = [
  "rgb(255,245,240)",
  "rgb(254,224,210)",
  "rgb(252,187,161)",
  "rgb(252,146,114)",
  "rgb(251,106,74)",
  "rgb(239,59,44)",
  "rgb(203,24,29)",
  "rgb(165,15,21)",
  "rgb(103,0,13)",
];
export const Viridis: readonly string[] = [
  "#440154",
  "#482878",
  "#3e4989",
  "#31688e",
  "#26828e",
  "#1f9e89",
  "#35b779",
  "#6ece58",
  "#b5de2b",
  "#fde725",
];

export const qualitative = {
  Plotly: [
    "#636EFA",
    "#EF553B",
    "#00CC96",
    "#AB63FA",
    "#FFA15A",
    "#19D3F3",
    "#FF6692",
    "#B6E880",
    "#FF97FF",
    "#FECB52",
  ],
  D3: ["#1F77B4", "#FF7F0E", "#2CA02C", "#D62728", "#9467BD", "#8C564B", "#E377C2", "#7F7F7F", "#BCBD22", "#17BECF"],
  Dark2: [
    "rgb(27,158,119)",
    "rgb(217,95,2)",
    "rgb(117,112,179)",
    "rgb(231,41,138)",
    "rgb(102,166,30)",
    "rgb(230,171,2)",
    "rgb(166,118,29)",
    "rgb(102,102,102)",
  ],
  Set1: [
    "rgb(228,26,28)",
    "rgb(55,126,184)",
    "rgb(77,175,74)",
    "rgb(152,78,163)",
    "rgb(255,127,0)",
    "rgb(255,255,51)",
    "rgb(166,86,40)",
    "rgb(247,129,191)",
    "rgb(153,153,153)",
  ],
  G10: ["#3366CC", "#DC3912", "#FF9900", "#109618", "#990099", "#0099C6", "#DD4477", "#66AA00", "#B82E2E", "#316395"],
} as const satisfies Record<string, readonly string[]>;

export const continuous = { RdBu, Blues, Reds, Viridis } as const;

/** A plotly colorscale: `[[0, c0], ..., [1, cn]]` from a list of colours (or a name of `continuous`, `_r` reverses). */
export function colorscale(
  scale: string | readonly string[] | readonly (readonly [number, string])[],
): [number, string][] | string {
  if (typeof scale === "string") {
    const rev = scale.endsWith("_r");
    const name = rev ? scale.slice(0, -2) : scale;
    const colors = (continuous as Record<string, readonly string[]>)[name];
    if (!colors) return scale; // a name plotly.js knows itself (Greys, YlGnBu, Hot, ...)
    const list = rev ? [...colors].reverse() : colors;
    return list.map((c, i) => [i / (list.length - 1), c]);
  }
  if (scale.length > 0 && Array.isArray(scale[0]))
    return (scale as readonly (readonly [number, string])[]).map(([v, c]) => [v, c]);
  const list = scale as readonly string[];
  return list.map((c, i) => [list.length === 1 ? 0 : i / (list.length - 1), c]);
}

/** Layout templates of plotly.py (the parts that matter for these figures). */
const axisPlotly = {
  gridcolor: "white",
  linecolor: "white",
  ticks: "",
  zerolinecolor: "white",
  automargin: true,
  zerolinewidth: 2,
};
const axisWhite = {
  gridcolor: "#EBF0F8",
  linecolor: "#EBF0F8",
  ticks: "",
  zerolinecolor: "#EBF0F8",
  automargin: true,
  zerolinewidth: 2,
};
const axisSimple = {
  showgrid: false,
  showline: true,
  linecolor: "rgb(36,36,36)",
  ticks: "outside",
  mirror: false,
  zeroline: false,
  automargin: true,
};
const axisGgplot = {
  gridcolor: "white",
  linecolor: "white",
  showgrid: true,
  ticks: "outside",
  tickcolor: "rgb(51,51,51)",
  zeroline: false,
  automargin: true,
};

export const templates: Record<string, { layout: Record<string, unknown> }> = {
  plotly: {
    layout: {
      colorway: qualitative.Plotly,
      font: { color: "#2a3f5f" },
      paper_bgcolor: "white",
      plot_bgcolor: "#E5ECF6",
      xaxis: axisPlotly,
      yaxis: axisPlotly,
      hoverlabel: { align: "left" },
      title: { x: 0.05 },
    },
  },
  plotly_white: {
    layout: {
      colorway: qualitative.Plotly,
      font: { color: "#2a3f5f" },
      paper_bgcolor: "white",
      plot_bgcolor: "white",
      xaxis: axisWhite,
      yaxis: axisWhite,
      hoverlabel: { align: "left" },
      title: { x: 0.05 },
    },
  },
  simple_white: {
    layout: {
      colorway: qualitative.D3,
      font: { color: "rgb(36,36,36)" },
      paper_bgcolor: "white",
      plot_bgcolor: "white",
      xaxis: axisSimple,
      yaxis: axisSimple,
      hoverlabel: { align: "left" },
      title: { x: 0.05 },
    },
  },
  ggplot2: {
    layout: {
      colorway: ["#F8766D", "#A3A500", "#00BF7D", "#00B0F6", "#E76BF3"],
      font: { color: "rgb(51,51,51)" },
      paper_bgcolor: "white",
      plot_bgcolor: "rgb(237,237,237)",
      xaxis: axisGgplot,
      yaxis: axisGgplot,
      title: { x: 0.05 },
    },
  },
  none: { layout: {} },
};
