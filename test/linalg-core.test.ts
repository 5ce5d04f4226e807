import { describe, expect, it } from "vitest";
import { eigvalsGeneral, qr, svd } from "../src/tensor/linalg-core.js";

// ------------------------------------------------------------------------------------------------
// Reference values generated once with numpy 2.4.6 (OpenBLAS LAPACK): inputs are
// np.round(np.random.default_rng(seed).standard_normal(shape), 6); eigenvalues from
// np.linalg.eigvals, SVD from np.linalg.svd(full_matrices=False) with the sign convention of
// linalg-core applied (largest-|.| entry of each U column positive), QR from
// np.linalg.qr(mode="reduced") as is. Embedded so the tests do not need Python.
// ------------------------------------------------------------------------------------------------
const EIG_CASES: { n: number; a: number[]; re: number[]; im: number[] }[] = [
  {
    n: 5,
    a: [
      0.345584, 0.821618, 0.330437, -1.303157, 0.905356, 0.446375, -0.536953, 0.581118, 0.364572, 0.294132, 0.028422,
      0.546713, -0.736454, -0.16291, -0.482119, 0.598846, 0.039722, -0.292457, -0.781908, -0.257192, 0.008142,
      -0.275603, 1.294064, 1.006724, -2.711162,
    ],
    re: [0.581051490251002, -0.5121015159226809, -0.5121015159226809, -1.9888707292028203, -1.9888707292028203],
    im: [0.0, 0.610629230297239, -0.610629230297239, 0.7340140439062589, -0.7340140439062589],
  },
  {
    n: 8,
    a: [
      0.189053, -0.522748, -0.413064, -2.441467, 1.799707, 1.144166, -0.325423, 0.773807, 0.281211, -0.553823, 0.977567,
      -0.310557, -0.328824, -0.792147, 0.454958, -0.099198, 0.545289, -0.607186, 0.126828, -0.892274, 0.841465,
      0.188035, 0.330571, 0.410504, -1.010758, 0.783181, 2.056703, -1.638443, -1.729411, -1.504831, 0.841459, 0.128716,
      1.078342, 0.722431, 0.210572, 0.284038, -0.16976, 0.86846, -1.129716, -0.421859, 0.242939, 1.801421, -0.764464,
      -1.07906, -0.563287, 0.969272, -0.235006, 1.324347, -1.87253, 1.128523, 1.034866, -1.418666, 0.153582, 1.215758,
      0.087919, 0.999701, 2.374887, 0.273932, -0.280382, -0.771052, 0.648065, -0.19673, -0.178746, -0.10526,
    ],
    re: [
      -2.3600212512108616, -0.9535614732042723, -0.9535614732042723, 2.292812479339789, 1.5506153943889056,
      -0.24704712764295145, -0.21172527423316675, -0.21172527423316675,
    ],
    im: [0.0, 1.9584783355652733, -1.9584783355652733, 0.0, 0.0, 0.0, 0.632020583321392, -0.632020583321392],
  },
  {
    n: 16,
    a: [
      2.040919, -2.555665, 0.418099, -0.56777, -0.452649, -0.215597, -2.019986, -0.231932, -0.865213, 3.323, 0.225787,
      -0.352631, -0.281287, -0.668046, -1.055151, -0.390801, 0.481945, -0.238554, 0.957759, -0.199802, 0.02426,
      1.545821, 0.545106, -0.505229, -0.182839, 0.540525, 1.935088, -0.26962, -0.243559, 1.002314, -0.88646, -0.29172,
      0.882539, 0.58035, 0.091517, 0.670104, -2.828162, 1.021307, -0.959645, -1.66862, 0.276446, 0.700545, -0.444767,
      -1.076406, 0.026125, -0.052747, 1.405598, 0.747408, 0.193816, 1.111633, -0.205523, -0.9259, 0.584058, 0.582538,
      -0.214829, -0.782809, 0.229154, -2.493894, 0.690125, 0.491368, -1.638857, 0.061354, -0.9641, 0.757221, -2.034167,
      -0.914495, 0.70958, 1.156401, -2.158005, -0.49804, 0.32802, -0.609216, 1.59064, -1.191227, 0.354532, -1.048406,
      1.405963, -0.021651, -0.372251, -1.718185, 1.681826, 0.752779, 0.753564, 1.137881, 0.349227, -0.639247, -0.800241,
      -0.8002, 1.370072, -1.460381, -0.59637, -0.321244, 0.224619, 0.575349, -1.249097, -1.730013, -0.004414, 1.213564,
      0.757058, 0.215651, -0.317156, 0.293234, -0.243335, 0.817207, -0.794447, 0.13424, -0.11078, 0.543359, 0.224639,
      2.550035, 1.498655, 1.496737, -2.039504, -0.340317, -0.608611, 0.532722, -2.279026, 1.174499, 1.066983, -1.302071,
      -0.978549, -0.801172, 0.043296, 0.640971, 2.047886, -0.197445, 0.767503, 0.155418, 1.759926, 0.742158, 1.36855,
      -1.077675, -0.192241, -0.813772, 1.504947, 0.65764, -0.305144, -0.452468, 0.484665, -0.701496, -0.930589,
      0.481274, 2.463132, -0.246134, -0.555866, -1.171157, -1.335011, 0.524983, 0.850803, 0.009175, 0.332576, 0.115917,
      0.138655, -1.526159, -0.458118, 0.111479, -0.783167, -0.47643, -0.81912, -0.333497, 0.853108, -0.40658, -0.153871,
      0.813718, 0.64477, 1.695208, -2.090485, 0.856859, -0.482284, 0.134692, 0.837719, 1.083253, 1.039351, 0.155107,
      1.609663, -0.282974, -0.140982, 0.799351, -0.551372, 2.160906, 1.019207, 2.175575, -0.026589, -0.383089, 0.167048,
      0.734577, -0.587428, 0.379702, -0.016804, 1.615682, -0.662702, 1.046162, -0.643864, -0.960634, -0.710299,
      -1.190186, 0.14635, 1.031261, 0.164315, 0.624325, 1.632174, 0.270026, 0.195162, -0.275061, -1.608242, 0.759739,
      -1.75646, 0.652676, -0.01432, 1.126781, -0.06777, -0.8232, 0.35791, -0.560236, -0.180957, 0.041871, -0.13455,
      -0.188802, -0.832445, -0.189134, -2.138341, -0.157332, -1.198056, 1.120264, 1.269927, -1.951026, 0.144917,
      -0.126364, -1.046716, 0.531653, -0.46169, -1.767599, -0.266677, -0.148253, 0.106431, -1.231233, 0.615681,
      0.735457, -1.145827, -0.658856, -0.080337, -0.565925, 1.743755, 0.208372, -1.010582, -0.788109, -0.05747,
      2.295779, -0.178264, 0.127476, 0.514045, -0.040126, 2.280661, -0.531525, 0.744203, 0.160438,
    ],
    re: [
      2.459506304276152, 2.459506304276152, -3.963784318656052, -3.963784318656052, -1.1780963905810533,
      -1.1780963905810533, 1.2345608623041722, 1.2345608623041722, 1.5108898086056757, 1.5108898086056757,
      0.9387129382368647, -1.504775588898767, -1.504775588898767, -2.369936275064037, -1.2124495086365497,
      -1.2124495086365497,
    ],
    im: [
      3.0819254110802765, -3.0819254110802765, 1.8290410753698316, -1.8290410753698316, 3.2388596450725697,
      -3.2388596450725697, 1.661553204054673, -1.661553204054673, 0.8843057856259005, -0.8843057856259005, 0.0,
      1.882128251047938, -1.882128251047938, 0.0, 0.8090818430226685, -0.8090818430226685,
    ],
  },
];
const DECOMP_CASES: {
  m: number;
  n: number;
  a: number[];
  U: number[];
  S: number[];
  Vh: number[];
  Q: number[];
  R: number[];
}[] = [
  {
    m: 7,
    n: 4,
    a: [
      0.034193, 1.359748, 1.224721, -0.510307, -0.29797, -0.527384, 0.569726, -0.056064, 0.746886, -1.847325, 1.566549,
      -0.096432, 0.680378, -0.136566, -0.379099, 0.46311, 0.824514, -0.20253, -0.152786, 0.685699, -0.870341, -1.514384,
      0.394982, -0.670566, -1.920341, -0.814054, -0.467598, -1.193202,
    ],
    U: [
      -0.19488971034698316, -0.06989716719322395, 0.8791329541696926, -0.14668552475631996, 0.20172040669133517,
      0.1236119690907042, 0.13720993939539963, 0.8417133493223037, 0.38438435661033266, 0.7854903770146031,
      0.19198852573420014, -0.2731723521241621, -0.15242707132968059, 0.1626062727849799, -0.3043629211225394,
      -0.3463609927951467, -0.17655640134553066, 0.27177747076251957, -0.2781469855918357, 0.1705674067504608,
      0.5832878555428935, 0.0758193690765992, -0.004210286950201625, 0.026448201889225465, 0.6155848011154574,
      -0.5067415163997019, -0.03766732730252312, -0.21358879997732985,
    ],
    S: [3.258537622653101, 2.761948232855293, 2.0245248711609065, 0.31176972993815255],
    Vh: [
      -0.5274613082886886, -0.7393913655564571, 0.15519202356320344, -0.38858771547914495, 0.6478379852346385,
      -0.5035734423289225, 0.49930715933945763, 0.27823028897027824, -0.1125449900101016, 0.44618355861391684,
      0.804857940070043, -0.37477667156915573, -0.537981540918585, 0.02518786898843428, 0.28073384683882785,
      0.7944368698177093,
    ],
    Q: [
      -0.013692835683260407, 0.47149121343193423, 0.7572615015862887, 0.2032795306558165, 0.11932425492179992,
      -0.15985442592439614, 0.2556660746117259, -0.8234817024481046, -0.29909593402531615, -0.704690594462099,
      0.4644863435016532, 0.2728267197225427, -0.27246232142559446, -0.1026326015662413, -0.2860863659849602,
      0.3092942948133576, -0.3301826315487899, -0.13729140899584882, -0.20002584201460957, -0.20884037846009393,
      0.3485343871963428, -0.4578323211220203, 0.1248916009026847, -0.0024428982857691017, 0.7690145283779715,
      -0.12868934724063472, -0.08937927587648875, 0.2585298182482583,
    ],
    R: [
      -2.4971452802724556, -0.5787743870177666, -0.48552357828564796, -1.474750735139125, 0.0, 2.8671222260561557,
      -0.6783369009570286, 0.15519994407072643, 0.0, 0.0, 2.030873998940287, -0.6923083622849797, 0.0, 0.0, 0.0,
      -0.39068104498086875,
    ],
  },
  {
    m: 4,
    n: 7,
    a: [
      -0.006827, 1.046143, 0.741588, 0.723957, 1.618776, -1.205558, -0.626955, -1.320663, -0.107753, 0.998764,
      -0.021948, 0.49588, -1.910769, 0.147064, -0.906943, 1.775389, 0.886849, 0.949349, -0.057855, 0.612862, 0.65789,
      -0.344403, -0.497372, -0.114773, -0.605452, -0.594339, -0.283375, -0.728418,
    ],
    U: [
      0.6756408197262753, -0.09220409857800775, 0.6783276521241094, 0.2736411578853168, 0.5887658743632043,
      -0.5273293329279707, -0.5462635646852874, -0.2772627593392154, 0.42296555207467396, 0.7746258305413606,
      -0.4093170604796301, 0.23133203067579736, -0.13403122644781093, -0.3367150152536492, -0.27189567532682674,
      0.8914770723794297,
    ],
    S: [3.35729152718724, 2.555049404263923, 1.7338580502502259, 0.8280988766070319],
    Vh: [
      -0.3334887027107184, 0.4351625054520535, 0.4407049595857481, 0.28561834972110595, 0.4291726431216688,
      -0.48917978974092324, 0.011582383913353578, 0.04323908679769817, 0.5882850805270642, 0.051101528013059075,
      0.3460117276571873, -0.09997574334213587, 0.6610115957872251, 0.2877222350437995, 0.6815252633446791,
      0.10209921854724083, -0.2159028413005964, 0.16097308721146375, 0.583933955322768, 0.030114185102547555,
      -0.33269650581823934, -0.18419276853572, 0.34229280115444394, 0.03483644198139596, -0.14000978980930887,
      -0.28710173528306365, 0.10753195843627864, -0.8567974176413771,
    ],
    Q: [
      -0.004166092767285523, 0.5299306043821056, 0.7176471052539666, 0.45181725346745366, -0.8059183495417551,
      -0.380577747404243, 0.40491495042502057, -0.20420596214339343, -0.5534508089410002, 0.6784410765138071,
      -0.48181600593346413, -0.03554214691972568, -0.21016769405762795, -0.3377156176707186, -0.298127240736619,
      0.8676968654354783,
    ],
    R: [
      1.6387057085260914, -0.7955771607737965, -1.274717478573268, -0.383499297400534, -0.2494520084864229,
      1.265313565934274, -0.3269294447902205, 0.0, 1.9678587028590508, 0.6533182485861804, 1.2405478446539626,
      0.8305844046655226, 0.5998250004640202, 0.3041258067054974, 0.0, 0.0, 0.5435318717923512, 0.23374876278795692,
      1.5675632472267966, -1.849669058009083, -0.4902047123058756, 0.0, 0.0, 0.0, -0.22751252838207514,
      0.11647947739534914, -0.42216751286524234, -0.9687292701281419,
    ],
  },
  {
    m: 6,
    n: 6,
    a: [
      1.826757, -3.078332, 0.958064, 0.069637, 1.31825, 0.385629, 1.827259, 0.031744, -0.516229, 0.580485, 0.432107,
      -0.356839, -0.247304, 0.719441, 0.704316, -0.493934, -0.367714, -1.80679, 1.679207, -0.224291, 1.337277, 0.417466,
      1.943963, 1.53711, 0.318298, 1.480763, -0.950124, 1.258618, -1.480424, 0.343236, 1.064876, 0.223632, -0.367137,
      -0.80556, -0.3428, 1.051125,
    ],
    U: [
      0.7310671726182497, -0.22293599170669492, 0.34345071864266014, -0.3825273378290223, -0.07956809590299352,
      -0.3810822621342593, 0.17195492318415873, 0.35680692600139535, 0.6943103809141692, 0.15626738130071305,
      0.06407265988669726, 0.5766529430267808, -0.1978481062247377, -0.3744960075196018, 0.4373003912089793,
      0.6028083005565106, 0.283737755865469, -0.43068813977196485, 0.5387712412605067, 0.3727987193471535,
      -0.3560013577139399, 0.6416721739298298, -0.13191544247179035, -0.12192142958153321, -0.3163787754576532,
      0.640598755691606, 0.26179473564790345, -0.1319127165666586, -0.326005297347318, -0.5452713107644838,
      0.08036442251707254, 0.36523341929587344, -0.11605867636679024, -0.19165424740193052, 0.8862140601484503,
      -0.15674750942496346,
    ],
    S: [
      5.124492142591716, 3.0059692042506776, 2.0502790753798665, 1.9202415134448438, 1.4308233203757281,
      0.7864264809528196,
    ],
    Vh: [
      0.5050648269373633, -0.5773646168677733, 0.2856622857392386, 0.002035474674599247, 0.5071645812355583,
      0.2696972796842887, 0.517696244626631, 0.4573590141670448, -0.30131658046030263, 0.3473938674757615,
      -0.11671844370888303, 0.5456335350193868, 0.5608409335316972, -0.13610532182479596, -0.19684060654076624,
      0.23671384285286162, -0.2184419470640184, -0.7241796991269756, 0.14014092754828245, 0.6426685958233477,
      0.537017006195982, 0.011750027860598866, 0.44263666868234736, -0.28789763425170184, 0.3634160792991541,
      0.13708205438631804, -0.07093150642338433, -0.9000274999881587, -0.18111641866676942, 0.03540236182736001,
      -0.10318352532380112, 0.08446158314832058, -0.7038754214457418, -0.11442180908923275, 0.6728399740119007,
      -0.14481992658064272,
    ],
    Q: [
      -0.5560682144941531, 0.6988498020955813, 0.07113404963599912, -0.12622960802966118, -0.42588695558028566,
      0.004840355965129686, -0.5562210242240055, -0.30630000801671636, 0.33003235533768643, -0.01075683027581898,
      0.27463942514919104, -0.642132851119265, 0.0752797956801381, -0.19243163037318736, -0.5463654130919741,
      0.24500703702438348, -0.5837057269969979, -0.5079832983972494, -0.5111537211879211, -0.19957190447026268,
      -0.6902019465876642, -0.20614726511254675, 0.28926220770288824, 0.3103947188177029, -0.09689050078201969,
      -0.5300998574558492, 0.2727763911524886, -0.5295324937585566, -0.5379314982244996, 0.25578204332030796,
      -0.32415022686524575, -0.24479485881701954, 0.19161873641662067, 0.7752551654830102, -0.1715756098750068,
      0.4096652363357098,
    ],
    R: [
      -3.2851311266941834, 1.646950217286308, -0.6650793329661182, -0.47299910502800785, -1.740171557462514,
      -1.3116476689763268, 0.0, -3.0943921380936166, 1.0187820368080467, -0.5873989921626142, 1.3403920094264343,
      -0.01954323639307598, 0.0, 0.0, -1.7395481153465095, 0.3672258882904941, -1.373950702223285, 0.13095610909135558,
      0.0, 0.0, 0.0, -1.5131048891759968, -0.14371031417501867, -0.17125115726789275, 0.0, 0.0, 0.0, 0.0,
      1.1893827550515923, 0.8720402152843592, 0.0, 0.0, 0.0, 0.0, 0.0, 2.144337573008532,
    ],
  },
];

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

/** Deterministic PRNG (mulberry32) with Box–Muller normals. */
function makeRng(seed: number): { uniform: () => number; normal: () => number } {
  let s = seed >>> 0;
  const uniform = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const normal = (): number => {
    let u = uniform();
    while (u === 0) u = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
  return { uniform, normal };
}

function randn(rng: { normal: () => number }, m: number, n: number): Float64Array {
  const a = new Float64Array(m * n);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  return a;
}

function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      for (let j = 0; j < n; j++) c[i * n + j]! += aip * b[p * n + j]!;
    }
  }
  return c;
}

function transpose(a: Float64Array, m: number, n: number): Float64Array {
  const t = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j]!;
  return t;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function frob(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * a[i]!;
  return Math.sqrt(s);
}

function identityError(q: Float64Array, m: number, r: number): number {
  // max |QᵀQ - I| for Q [m, r]
  const g = matmul(transpose(q, m, r), q, r, m, r);
  for (let i = 0; i < r; i++) g[i * r + i]! -= 1;
  return maxAbs(g);
}

function diagMul(u: Float64Array, s: Float64Array, m: number, r: number): Float64Array {
  const out = new Float64Array(m * r);
  for (let i = 0; i < m; i++) for (let j = 0; j < r; j++) out[i * r + j] = u[i * r + j]! * s[j]!;
  return out;
}

/** Real determinant by LU with partial pivoting. */
function detLU(a: Float64Array, n: number): number {
  const w = Float64Array.from(a);
  let det = 1;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(w[i * n + k]!) > Math.abs(w[p * n + k]!)) p = i;
    if (w[p * n + k] === 0) return 0;
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = w[k * n + j]!;
        w[k * n + j] = w[p * n + j]!;
        w[p * n + j] = t;
      }
      det = -det;
    }
    const piv = w[k * n + k]!;
    det *= piv;
    for (let i = k + 1; i < n; i++) {
      const f = w[i * n + k]! / piv;
      for (let j = k + 1; j < n; j++) w[i * n + j]! -= f * w[k * n + j]!;
    }
  }
  return det;
}

/**
 * |det(A - λI)| divided by the Hadamard bound Π_i ‖row_i(A - λI)‖ (so the result is in [0, 1] and
 * scale-free), for complex λ = lr + i·li, computed by complex LU with partial pivoting in log space.
 */
function relCharPoly(a: Float64Array, n: number, lr: number, li: number): number {
  const xr = Float64Array.from(a);
  const xi = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    xr[k * n + k]! -= lr;
    xi[k * n + k]! -= li;
  }
  let logBound = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < n; j++) s += xr[i * n + j]! ** 2 + xi[i * n + j]! ** 2;
    logBound += 0.5 * Math.log(s);
  }
  let logDet = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    let best = -1;
    for (let i = k; i < n; i++) {
      const mag = Math.hypot(xr[i * n + k]!, xi[i * n + k]!);
      if (mag > best) {
        best = mag;
        p = i;
      }
    }
    if (best === 0) return 0;
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        let t = xr[k * n + j]!;
        xr[k * n + j] = xr[p * n + j]!;
        xr[p * n + j] = t;
        t = xi[k * n + j]!;
        xi[k * n + j] = xi[p * n + j]!;
        xi[p * n + j] = t;
      }
    }
    const pr = xr[k * n + k]!;
    const pi = xi[k * n + k]!;
    logDet += Math.log(best);
    const d = pr * pr + pi * pi;
    for (let i = k + 1; i < n; i++) {
      // f = x[i,k] / pivot
      const ar = xr[i * n + k]!;
      const ai = xi[i * n + k]!;
      const fr = (ar * pr + ai * pi) / d;
      const fi = (ai * pr - ar * pi) / d;
      for (let j = k + 1; j < n; j++) {
        const br = xr[k * n + j]!;
        const bi = xi[k * n + j]!;
        xr[i * n + j]! -= fr * br - fi * bi;
        xi[i * n + j]! -= fr * bi + fi * br;
      }
    }
  }
  return Math.exp(logDet - logBound);
}

/**
 * Smallest singular value of the complex matrix A - λI divided by ‖A‖₂, via the real 2n×2n
 * embedding [[Re, -Im], [Im, Re]] (its singular values are those of the complex matrix, doubled).
 * For a backward-stable eigenvalue this is O(n·eps).
 */
function relSigmaMin(a: Float64Array, n: number, lr: number, li: number, normA: number): number {
  const N = 2 * n;
  const e = new Float64Array(N * N);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const r = a[i * n + j]! - (i === j ? lr : 0);
      const im = i === j ? -li : 0;
      e[i * N + j] = r;
      e[(i + n) * N + (j + n)] = r;
      e[i * N + (j + n)] = -im;
      e[(i + n) * N + j] = im;
    }
  }
  const { S } = svd(e, N, N);
  return S[N - 1]! / normA;
}

/**
 * Assert that two multisets of complex numbers agree: greedy nearest matching of every expected
 * value to a distinct computed value, with |difference| <= tol.
 */
function expectSameEigenvalues(
  got: { re: ArrayLike<number>; im: ArrayLike<number> },
  wantRe: ArrayLike<number>,
  wantIm: ArrayLike<number>,
  tol: number,
): void {
  const n = wantRe.length;
  expect(got.re.length).toBe(n);
  expect(got.im.length).toBe(n);
  const used = new Array<boolean>(n).fill(false);
  for (let k = 0; k < n; k++) {
    let best = -1;
    let bestD = Infinity;
    for (let j = 0; j < n; j++) {
      if (used[j]) continue;
      const d = Math.hypot(got.re[j]! - wantRe[k]!, got.im[j]! - wantIm[k]!);
      if (d < bestD) {
        bestD = d;
        best = j;
      }
    }
    used[best] = true;
    if (!(bestD <= tol)) {
      throw new Error(
        `eigenvalue ${wantRe[k]} + ${wantIm[k]}i not matched (nearest distance ${bestD} > ${tol}); got re=[${Array.from(got.re)}] im=[${Array.from(got.im)}]`,
      );
    }
  }
}

/** Structure of the output: real eigenvalues have im = 0; complex ones come in adjacent conjugate pairs, positive first. */
function expectPairStructure(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let k = 0; k < n; k++) {
    if (im[k] === 0) continue;
    expect(im[k]).toBeGreaterThan(0);
    expect(k + 1).toBeLessThan(n);
    expect(re[k + 1]).toBe(re[k]);
    expect(im[k + 1]).toBe(-im[k]!);
    k++;
  }
}

/** Σλ and Πλ (complex) of an eigenvalue list. */
function sumProd(re: Float64Array, im: Float64Array): { sr: number; si: number; pr: number; pi: number } {
  let sr = 0;
  let si = 0;
  let pr = 1;
  let pi = 0;
  for (let k = 0; k < re.length; k++) {
    sr += re[k]!;
    si += im[k]!;
    const nr = pr * re[k]! - pi * im[k]!;
    const ni = pr * im[k]! + pi * re[k]!;
    pr = nr;
    pi = ni;
  }
  return { sr, si, pr, pi };
}

function trace(a: Float64Array, n: number): number {
  let t = 0;
  for (let i = 0; i < n; i++) t += a[i * n + i]!;
  return t;
}

/** Random S·B·S⁻¹ via S = Q from a random QR (orthogonal similarity keeps conditioning sane). */
function randomOrthogonal(rng: { normal: () => number }, n: number): Float64Array {
  return qr(randn(rng, n, n), n, n).Q;
}

// ------------------------------------------------------------------------------------------------
// eigvalsGeneral
// ------------------------------------------------------------------------------------------------

describe("eigvalsGeneral", () => {
  it("matches numpy.linalg.eigvals on random 5×5, 8×8, 16×16 matrices (as multisets)", () => {
    for (const c of EIG_CASES) {
      const a = Float64Array.from(c.a);
      const got = eigvalsGeneral(a, c.n);
      expectPairStructure(got.re, got.im);
      expectSameEigenvalues(got, c.re, c.im, 1e-12 * Math.max(1, maxAbs(c.re)));
      // and the reference itself has complex pairs, so this exercises the 2×2 standardization
      expect(c.im.some((x) => x !== 0)).toBe(true);
    }
  });

  it("satisfies Σλ = trace, Πλ = det and det(A − λI) ≈ 0 on random matrices", () => {
    const rng = makeRng(1234);
    for (const n of [2, 3, 4, 5, 7, 10, 13, 20, 32]) {
      for (let rep = 0; rep < 3; rep++) {
        const a = randn(rng, n, n);
        const { re, im } = eigvalsGeneral(a, n);
        expectPairStructure(re, im);
        const { sr, si, pr, pi } = sumProd(re, im);
        const tr = trace(a, n);
        expect(Math.abs(sr - tr)).toBeLessThan(1e-12 * n * Math.max(1, frob(a)));
        expect(Math.abs(si)).toBeLessThan(1e-12 * n * Math.max(1, frob(a)));
        const det = detLU(a, n);
        const detScale = Math.max(Math.abs(det), 1e-300);
        expect(Math.abs(pr - det) / detScale).toBeLessThan(1e-9);
        expect(Math.abs(pi) / detScale).toBeLessThan(1e-9);
        const normA = svd(a, n, n).S[0]!;
        for (let k = 0; k < n; k++) {
          // relative characteristic polynomial at λ is tiny ...
          expect(relCharPoly(a, n, re[k]!, im[k]!)).toBeLessThan(1e-11);
          // ... and A − λI is singular to working precision (backward stability)
          expect(relSigmaMin(a, n, re[k]!, im[k]!, normA)).toBeLessThan(10 * n * 2.2e-16);
        }
        // the check is not vacuous: moving λ by 1e-3·‖A‖ makes det(A − λI) clearly nonzero
        expect(relCharPoly(a, n, re[0]! + 1e-3 * normA, im[0]!)).toBeGreaterThan(
          1e3 * relCharPoly(a, n, re[0]!, im[0]!),
        );
      }
    }
  });

  it("handles n = 0 and n = 1", () => {
    const e0 = eigvalsGeneral(new Float64Array(0), 0);
    expect(e0.re.length).toBe(0);
    expect(e0.im.length).toBe(0);
    const e1 = eigvalsGeneral(Float64Array.of(-3.25), 1);
    expect(Array.from(e1.re)).toEqual([-3.25]);
    expect(Array.from(e1.im)).toEqual([0]);
  });

  it("returns exact zeros for the zero matrix", () => {
    const { re, im } = eigvalsGeneral(new Float64Array(36), 6);
    expect(Array.from(re)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(Array.from(im)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it("returns the diagonal exactly for diagonal and triangular matrices", () => {
    const diag = [3, -1, 0.5, 7, -2];
    const n = diag.length;
    const d = new Float64Array(n * n);
    diag.forEach((v, i) => (d[i * n + i] = v));
    let got = eigvalsGeneral(d, n);
    expect(Array.from(got.re).sort((x, y) => x - y)).toEqual([...diag].sort((x, y) => x - y));
    expect(maxAbs(got.im)).toBe(0);

    const rng = makeRng(7);
    const up = new Float64Array(n * n);
    const lo = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (i === j) {
          up[i * n + j] = diag[i]!;
          lo[i * n + j] = diag[i]!;
        } else if (j > i) up[i * n + j] = rng.normal() * 10;
        else lo[i * n + j] = rng.normal() * 10;
      }
    }
    for (const t of [up, lo]) {
      got = eigvalsGeneral(t, n);
      expect(Array.from(got.re).sort((x, y) => x - y)).toEqual([...diag].sort((x, y) => x - y));
      expect(maxAbs(got.im)).toBe(0);
    }
  });

  it("gives e^{±iθ} for 2-D rotations and purely imaginary pairs for skew-symmetric matrices", () => {
    for (const theta of [0.3, Math.PI / 2, 2.5, Math.PI - 1e-3]) {
      const c = Math.cos(theta);
      const s = Math.sin(theta);
      const { re, im } = eigvalsGeneral(Float64Array.of(c, -s, s, c), 2);
      expect(Math.abs(re[0]! - c)).toBeLessThan(1e-15);
      expect(Math.abs(re[1]! - c)).toBeLessThan(1e-15);
      expect(Math.abs(im[0]! - s)).toBeLessThan(1e-15);
      expect(im[1]).toBe(-im[0]!);
    }
    // block-diagonal rotations hidden by a random orthogonal similarity (forces real QR iterations)
    const rng = makeRng(99);
    const thetas = [0.4, 1.3, 2.9];
    const n = 6;
    const b = new Float64Array(n * n);
    thetas.forEach((t, k) => {
      const i = 2 * k;
      b[i * n + i] = Math.cos(t);
      b[i * n + i + 1] = -Math.sin(t);
      b[(i + 1) * n + i] = Math.sin(t);
      b[(i + 1) * n + i + 1] = Math.cos(t);
    });
    const q = randomOrthogonal(rng, n);
    const a = matmul(matmul(q, b, n, n, n), transpose(q, n, n), n, n, n);
    const got = eigvalsGeneral(a, n);
    expectPairStructure(got.re, got.im);
    expectSameEigenvalues(
      got,
      thetas.flatMap((t) => [Math.cos(t), Math.cos(t)]),
      thetas.flatMap((t) => [Math.sin(t), -Math.sin(t)]),
      1e-13,
    );
    // skew-symmetric: purely imaginary spectrum (plus a zero for odd n)
    const k = randn(rng, 5, 5);
    const skew = new Float64Array(25);
    for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) skew[i * 5 + j] = k[i * 5 + j]! - k[j * 5 + i]!;
    const sk = eigvalsGeneral(skew, 5);
    expect(maxAbs(sk.re)).toBeLessThan(1e-13);
    expect(sk.im.filter((x) => x !== 0).length).toBe(4);
  });

  it("converges on cyclic permutation matrices (roots of unity; needs exceptional shifts)", () => {
    for (const n of [3, 4, 5, 8]) {
      const p = new Float64Array(n * n);
      for (let i = 0; i < n; i++) p[i * n + ((i + 1) % n)] = 1;
      const got = eigvalsGeneral(p, n);
      expectPairStructure(got.re, got.im);
      const wr = Array.from({ length: n }, (_, k) => Math.cos((2 * Math.PI * k) / n));
      const wi = Array.from({ length: n }, (_, k) => Math.sin((2 * Math.PI * k) / n));
      expectSameEigenvalues(got, wr, wi, 1e-13);
    }
  });

  it("handles defective (Jordan block) matrices to the expected eps^(1/k) accuracy", () => {
    // Plain Jordan block: triangular, so exact.
    const j4 = new Float64Array(16);
    for (let i = 0; i < 4; i++) {
      j4[i * 4 + i] = 2;
      if (i < 3) j4[i * 4 + i + 1] = 1;
    }
    expect(Array.from(eigvalsGeneral(j4, 4).re)).toEqual([2, 2, 2, 2]);
    // Jordan block J_3(1.5) ⊕ [-1] under a random orthogonal similarity: a perturbation of size
    // eps splits the triple eigenvalue by ~eps^(1/3) ≈ 6e-6, so that is the attainable accuracy.
    const rng = makeRng(5);
    const n = 4;
    const b = Float64Array.of(1.5, 1, 0, 0, 0, 1.5, 1, 0, 0, 0, 1.5, 0, 0, 0, 0, -1);
    const q = randomOrthogonal(rng, n);
    const a = matmul(matmul(q, b, n, n, n), transpose(q, n, n), n, n, n);
    const got = eigvalsGeneral(a, n);
    expectSameEigenvalues(got, [1.5, 1.5, 1.5, -1], [0, 0, 0, 0], 1e-4);
    // the mean of the cluster is well conditioned
    const cluster = Array.from(got.re).filter((x) => x > 0);
    expect(cluster.length).toBe(3);
    expect(Math.abs(cluster.reduce((s, x) => s + x, 0) / 3 - 1.5)).toBeLessThan(1e-13);
    // nilpotent 2×2 Jordan block rotated by 45°: [[.5, .5], [-.5, -.5]] has λ = 0 twice
    const nil = eigvalsGeneral(Float64Array.of(0.5, 0.5, -0.5, -0.5), 2);
    expectSameEigenvalues(nil, [0, 0], [0, 0], 1e-7);
  });

  it("handles rank-deficient matrices", () => {
    const rng = makeRng(21);
    const n = 8;
    const r = 3;
    const a = matmul(randn(rng, n, r), randn(rng, r, n), n, r, n);
    const got = eigvalsGeneral(a, n);
    const mags = Array.from({ length: n }, (_, k) => Math.hypot(got.re[k]!, got.im[k]!)).sort((x, y) => x - y);
    const scale = frob(a);
    for (let k = 0; k < n - r; k++) expect(mags[k]).toBeLessThan(1e-12 * scale);
    for (let k = n - r; k < n; k++) expect(mags[k]).toBeGreaterThan(1e-3 * scale);
    // the nonzero eigenvalues of X·Y are those of Y·X (r×r)
    const x = randn(makeRng(22), n, r);
    const y = randn(makeRng(23), r, n);
    const xy = eigvalsGeneral(matmul(x, y, n, r, n), n);
    const yx = eigvalsGeneral(matmul(y, x, r, n, r), r);
    const keep = Array.from({ length: n }, (_, k) => k).filter((k) => Math.hypot(xy.re[k]!, xy.im[k]!) > 1e-8);
    expect(keep.length).toBe(r);
    expectSameEigenvalues({ re: keep.map((k) => xy.re[k]!), im: keep.map((k) => xy.im[k]!) }, yx.re, yx.im, 1e-11);
  });

  it("is accurate on badly scaled matrices (balancing) and at extreme magnitudes", () => {
    const rng = makeRng(31);
    const n = 6;
    const a = randn(rng, n, n);
    const ref = eigvalsGeneral(a, n);
    // D·A·D⁻¹ with D = diag(10^(-6..9)) has the same eigenvalues but entries from 1e-15 to 1e15
    const d = [1e-6, 1e-3, 1, 1e3, 1e6, 1e9];
    const bad = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) bad[i * n + j] = (d[i]! * a[i * n + j]!) / d[j]!;
    expect(maxAbs(bad)).toBeGreaterThan(1e12);
    expectSameEigenvalues(eigvalsGeneral(bad, n), ref.re, ref.im, 1e-11);
    // global scaling by huge / tiny factors (exercises the safe-range scaling)
    for (const s of [1e300, 1e-300, 2 ** 1000, 1e-310]) {
      const sa = a.map((x) => x * s);
      const got = eigvalsGeneral(sa, n);
      expectSameEigenvalues(
        { re: Array.from(got.re, (x) => x / s), im: Array.from(got.im, (x) => x / s) },
        ref.re,
        ref.im,
        s === 1e-310 ? 1e-6 : 1e-12, // 1e-310 is subnormal: inputs already lost digits
      );
    }
    // widely spread real eigenvalues, Q·diag·Qᵀ (normal, so perfectly conditioned: the attainable
    // absolute accuracy is ~eps·‖A‖ ≈ 2e-8, relative accuracy for the large ones)
    const spread = [1e8, 1e4, 1, 1e-4, -1e-8];
    const t = new Float64Array(25);
    spread.forEach((v, i) => (t[i * 5 + i] = v));
    const q = randomOrthogonal(rng, 5);
    const sp = eigvalsGeneral(matmul(matmul(q, t, 5, 5, 5), transpose(q, 5, 5), 5, 5, 5), 5);
    expectSameEigenvalues(sp, spread, [0, 0, 0, 0, 0], 5e-8 * 5);
    const big = Array.from(sp.re).sort((x, y) => y - x);
    expect(Math.abs(big[0]! - 1e8) / 1e8).toBeLessThan(1e-14);
    expect(Math.abs(big[1]! - 1e4) / 1e4).toBeLessThan(1e-10);
  });

  it("isolates eigenvalues via permutations on block-triangular input", () => {
    // [[5, 1, 2], [0, 1, -2], [0, 1, 1]]: 5 is isolated, the lower 2×2 block gives 1 ± i√2
    const got = eigvalsGeneral(Float64Array.of(5, 1, 2, 0, 1, -2, 0, 1, 1), 3);
    expectPairStructure(got.re, got.im);
    expectSameEigenvalues(got, [5, 1, 1], [0, Math.SQRT2, -Math.SQRT2], 1e-15);
  });

  it("handles random matrices up to 64×64", () => {
    const rng = makeRng(64);
    for (const n of [48, 64]) {
      const a = randn(rng, n, n);
      const { re, im } = eigvalsGeneral(a, n);
      expectPairStructure(re, im);
      const { sr } = sumProd(re, im);
      expect(Math.abs(sr - trace(a, n))).toBeLessThan(1e-11 * n);
      // Girko's circular law: spectral radius ≈ √n
      const rho = Math.max(...Array.from(re, (x, k) => Math.hypot(x, im[k]!)));
      expect(rho).toBeGreaterThan(0.7 * Math.sqrt(n));
      expect(rho).toBeLessThan(1.5 * Math.sqrt(n));
      const normA = svd(a, n, n).S[0]!;
      for (let k = 0; k < n; k += 7) expect(relSigmaMin(a, n, re[k]!, im[k]!, normA)).toBeLessThan(10 * n * 2.2e-16);
    }
  });

  it("throws clear errors for NaN/Inf input and bad shapes", () => {
    expect(() => eigvalsGeneral(Float64Array.of(1, NaN, 0, 1), 2)).toThrow(/non-finite/);
    expect(() => eigvalsGeneral(Float64Array.of(1, 0, Infinity, 1), 2)).toThrow(/non-finite/);
    expect(() => eigvalsGeneral(Float64Array.of(1, 2, 3), 2)).toThrow(/expected 4 elements/);
  });
});

// ------------------------------------------------------------------------------------------------
// svd
// ------------------------------------------------------------------------------------------------

function checkSvd(
  a: Float64Array,
  m: number,
  n: number,
  tol = 1e-13,
): { U: Float64Array; S: Float64Array; Vh: Float64Array } {
  const r = Math.min(m, n);
  const res = svd(a, m, n);
  const { U, S, Vh } = res;
  expect(U.length).toBe(m * r);
  expect(S.length).toBe(r);
  expect(Vh.length).toBe(r * n);
  for (let k = 0; k < r; k++) {
    expect(S[k]).toBeGreaterThanOrEqual(0);
    if (k > 0) expect(S[k]).toBeLessThanOrEqual(S[k - 1]!);
  }
  const scale = Math.max(maxAbs(a), Number.MIN_VALUE);
  // compare U·diag(S/scale)·Vh with A/scale (avoids overflow of partial sums near the double range)
  const recon = matmul(
    diagMul(
      U,
      S.map((x) => x / scale),
      m,
      r,
    ),
    Vh,
    m,
    r,
    n,
  );
  expect(
    maxAbsDiff(
      recon,
      a.map((x) => x / scale),
    ),
  ).toBeLessThan(tol * Math.max(m, n));
  expect(identityError(U, m, r)).toBeLessThan(tol * Math.max(m, n));
  expect(identityError(transpose(Vh, r, n), n, r)).toBeLessThan(tol * Math.max(m, n));
  // sign convention: largest-|.| entry of each column of U is positive
  for (let c = 0; c < r; c++) {
    let best = 0;
    for (let i = 1; i < m; i++) if (Math.abs(U[i * r + c]!) > Math.abs(U[best * r + c]!)) best = i;
    expect(U[best * r + c]).toBeGreaterThan(0);
  }
  return res;
}

describe("svd", () => {
  it("matches numpy.linalg.svd (full_matrices=False) on 7×4, 4×7, 6×6", () => {
    for (const c of DECOMP_CASES) {
      const { U, S, Vh } = checkSvd(Float64Array.from(c.a), c.m, c.n);
      expect(maxAbsDiff(S, c.S) / c.S[0]!).toBeLessThan(1e-14);
      expect(maxAbsDiff(U, c.U)).toBeLessThan(1e-12);
      expect(maxAbsDiff(Vh, c.Vh)).toBeLessThan(1e-12);
    }
  });

  it("satisfies U·diag(S)·Vh = A, UᵀU = I, Vh·Vhᵀ = I, S descending ≥ 0 on random shapes", () => {
    const rng = makeRng(77);
    const shapes: [number, number][] = [
      [1, 1],
      [1, 5],
      [5, 1],
      [2, 2],
      [3, 8],
      [8, 3],
      [10, 10],
      [17, 9],
      [9, 17],
      [40, 40],
      [64, 16],
      [100, 64],
    ];
    for (const [m, n] of shapes) {
      const a = randn(rng, m, n);
      const { S } = checkSvd(a, m, n);
      // Σσ² = ‖A‖_F²
      expect(Math.abs(S.reduce((s, x) => s + x * x, 0) - frob(a) ** 2) / frob(a) ** 2).toBeLessThan(1e-13);
    }
  });

  it("recovers prescribed singular values to high relative accuracy", () => {
    const rng = makeRng(3);
    const m = 9;
    const n = 6;
    const sig = [1e3, 50, 7, 1, 1e-3, 1e-6];
    const u = qr(randn(rng, m, n), m, n).Q;
    const v = randomOrthogonal(rng, n);
    const a = matmul(diagMul(u, Float64Array.from(sig), m, n), transpose(v, n, n), m, n, n);
    const { S, U } = checkSvd(a, m, n);
    for (let k = 0; k < n; k++) expect(Math.abs(S[k]! - sig[k]!)).toBeLessThan(1e-12 * sig[0]!);
    expect(Math.abs(S[0]! - sig[0]!) / sig[0]!).toBeLessThan(1e-14);
    // the leading singular vector is ±u₀
    let dot = 0;
    for (let i = 0; i < m; i++) dot += U[i * n]! * u[i * n]!;
    expect(Math.abs(Math.abs(dot) - 1)).toBeLessThan(1e-13);
  });

  it("handles rank-deficient and zero matrices with orthonormal U", () => {
    const rng = makeRng(8);
    for (const [m, n] of [
      [10, 6],
      [6, 10],
      [7, 7],
    ] as [number, number][]) {
      const a = matmul(randn(rng, m, 2), randn(rng, 2, n), m, 2, n);
      const { S } = checkSvd(a, m, n);
      expect(S[1]).toBeGreaterThan(1e-3);
      for (let k = 2; k < Math.min(m, n); k++) expect(S[k]).toBeLessThan(1e-14 * S[0]!);
    }
    // a matrix with exactly zero columns / rows
    const z = new Float64Array(5 * 4);
    z[0 * 4 + 1] = 3;
    z[2 * 4 + 1] = 4;
    const zs = checkSvd(z, 5, 4);
    expect(Array.from(zs.S)).toEqual([5, 0, 0, 0]);
    const zero = checkSvd(new Float64Array(12), 3, 4);
    expect(Array.from(zero.S)).toEqual([0, 0, 0]);
    const zero2 = checkSvd(new Float64Array(12), 4, 3);
    expect(Array.from(zero2.S)).toEqual([0, 0, 0]);
  });

  it("handles diagonal input and extreme magnitudes", () => {
    const d = Float64Array.of(0, 0, -2, 0, 5, 0, 1, 0, 0);
    const { U, S, Vh } = checkSvd(d, 3, 3);
    expect(Array.from(S)).toEqual([5, 2, 1]);
    // largest-|.| entry positive: U columns are e1, e0, e2 and Vh carries the sign of -2
    expect(Array.from(U, (x) => x + 0)).toEqual([0, 1, 0, 1, 0, 0, 0, 0, 1]);
    expect(Array.from(Vh, (x) => x + 0)).toEqual([0, 1, 0, 0, 0, -1, 1, 0, 0]);
    const rng = makeRng(12);
    const a = randn(rng, 6, 4);
    const ref = svd(a, 6, 4).S;
    const nearMax = 2e307 / maxAbs(a); // largest entry 2e307 (σ₁ stays below the overflow threshold)
    for (const s of [1e200, 1e-200, nearMax, 1e-300]) {
      const { S: Ss } = checkSvd(
        a.map((x) => x * s),
        6,
        4,
      );
      for (let k = 0; k < 4; k++) expect(Math.abs(Ss[k]! / s - ref[k]!) / ref[0]!).toBeLessThan(1e-14);
    }
    // subnormal entries (inputs themselves carry only ~14 bits here)
    const sub = a.map((x) => x * 1e-320);
    const { S: Sd } = svd(sub, 6, 4);
    for (let k = 0; k < 4; k++) expect(Math.abs(Sd[k]! / 1e-320 - ref[k]!) / ref[0]!).toBeLessThan(1e-2);
  });

  it("handles empty shapes and rejects non-finite input", () => {
    const e = svd(new Float64Array(0), 0, 3);
    expect(e.S.length).toBe(0);
    expect(e.U.length).toBe(0);
    expect(e.Vh.length).toBe(0);
    expect(() => svd(Float64Array.of(1, NaN), 1, 2)).toThrow(/non-finite/);
    expect(() => svd(Float64Array.of(1, -Infinity), 2, 1)).toThrow(/non-finite/);
  });

  it("handles d_model × d_head factors", () => {
    const rng = makeRng(768);
    const a = randn(rng, 768, 64);
    checkSvd(a, 768, 64);
  });
});

// ------------------------------------------------------------------------------------------------
// qr
// ------------------------------------------------------------------------------------------------

function checkQr(a: Float64Array, m: number, n: number, tol = 1e-14): { Q: Float64Array; R: Float64Array } {
  const r = Math.min(m, n);
  const res = qr(a, m, n);
  const { Q, R } = res;
  expect(Q.length).toBe(m * r);
  expect(R.length).toBe(r * n);
  for (let i = 0; i < r; i++) for (let j = 0; j < Math.min(i, n); j++) expect(R[i * n + j]).toBe(0);
  const scale = Math.max(maxAbs(a), Number.MIN_VALUE);
  expect(maxAbsDiff(matmul(Q, R, m, r, n), a) / scale).toBeLessThan(tol * Math.max(m, n));
  expect(identityError(Q, m, r)).toBeLessThan(tol * Math.max(m, n));
  return res;
}

describe("qr", () => {
  it('matches numpy.linalg.qr (mode="reduced") including signs on 7×4, 4×7, 6×6', () => {
    for (const c of DECOMP_CASES) {
      const { Q, R } = checkQr(Float64Array.from(c.a), c.m, c.n);
      expect(maxAbsDiff(Q, c.Q)).toBeLessThan(1e-13);
      expect(maxAbsDiff(R, c.R)).toBeLessThan(1e-13 * maxAbs(c.R));
      // numpy's Householder convention gives a mix of signs on R's diagonal
      const diag = Array.from({ length: Math.min(c.m, c.n) }, (_, i) => R[i * c.n + i]);
      expect(diag.some((x) => x! < 0)).toBe(true);
    }
  });

  it("satisfies QR = A, QᵀQ = I, R upper triangular on random shapes", () => {
    const rng = makeRng(55);
    const shapes: [number, number][] = [
      [1, 1],
      [1, 4],
      [4, 1],
      [3, 3],
      [12, 5],
      [5, 12],
      [30, 30],
      [64, 8],
    ];
    for (const [m, n] of shapes) checkQr(randn(rng, m, n), m, n);
  });

  it("follows the LAPACK reflector convention (R_kk = -sign(a_kk)·‖x‖; no reflection when already reduced)", () => {
    // first column (3, 4): H maps it to (-5, 0), so R[0,0] = -5 and Q[:,0] = -(0.6, 0.8)
    const { Q, R } = checkQr(Float64Array.of(3, 1, 4, 2), 2, 2);
    expect(R[0]).toBeCloseTo(-5, 14);
    expect(Q[0]).toBeCloseTo(-0.6, 15);
    expect(Q[2]).toBeCloseTo(-0.8, 15);
    expect(R[1]).toBeCloseTo(-2.2, 14);
    // det(Q) = -1 (one reflection), so R[1,1] = -det(A) / R[0,0] = -(6 - 4) / -5 = 0.4; the last
    // column has nothing below the diagonal, so it is not reflected and keeps its sign (as numpy)
    expect(R[3]).toBeCloseTo(0.4, 14);
    expect(R[2]).toBe(0);
    // upper triangular input with negative diagonal: every reflector is the identity, Q = I, R = A
    const t = Float64Array.of(-2, 1, 3, 0, 4, -1, 0, 0, -5);
    const tq = checkQr(t, 3, 3);
    expect(Array.from(tq.Q)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(Array.from(tq.R)).toEqual(Array.from(t));
  });

  it("handles rank-deficient and zero input", () => {
    const z = checkQr(new Float64Array(12), 4, 3);
    expect(maxAbs(z.R)).toBe(0);
    const rng = makeRng(4);
    const a = matmul(randn(rng, 8, 2), randn(rng, 2, 5), 8, 2, 5);
    const { R } = checkQr(a, 8, 5);
    for (let i = 2; i < 5; i++)
      for (let j = i; j < 5; j++) expect(Math.abs(R[i * 5 + j]!)).toBeLessThan(1e-13 * maxAbs(a));
    expect(() => qr(Float64Array.of(NaN), 1, 1)).toThrow(/non-finite/);
  });
});
