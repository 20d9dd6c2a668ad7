#!/usr/bin/env node
// Turns Natural Earth's 1:110m country boundaries (TopoJSON from the npm package
// world-atlas 2.0.2) into the world map of the HTML report: src/report/assets/world-110m.svg.
// Run through scripts/world-map.sh, which installs world-atlas and topojson-client into a
// temporary directory and passes their paths:
//
//   node scripts/world-map.js NODE_MODULES ISO_3166_1_JSON > src/report/assets/world-110m.svg
//
// The output is a standalone SVG with one element per line, each keyed by its ISO 3166-1
// alpha-2 code (world-atlas keys countries by ISO numeric code; Debian's iso-codes maps the
// one to the other and gives the English names), in one of three forms that
// src/report/html.rs reads line by line:
//
//   <path data-cc="DE" d="..."><title>Germany</title></path>      a country's outline
//   <circle data-cc="SG" cx="..." cy="..." r="4"><title>Singapore</title></circle>
//                                                                 too small for 1:110m: a dot
//   <g data-cc="AQ"><title>Antarctica</title></g>                 not drawn (names only)
//
// plus `<path d="...">` lines without a code for land no ISO code covers (Kosovo, Northern
// Cyprus, Somaliland), drawn as neutral land so the map has no holes, and one
// `<path class="sphere" ...>`, the outline of the projected world, drawn first as the sea.
//
// Projection: Natural Earth I (the polynomial of Šavrič, Jenny, Patterson and Jenny, 2011),
// fixed, cropped below 58°S (Antarctica is left out: no mirror list places a mirror there, and
// it would take a fifth of the map's height). Coordinates are rounded to half a unit of a
// 1000-unit-wide map and written as relative moves; points that round onto the previous one
// are dropped, which is the only simplification. The output is deterministic: the same inputs
// give the same bytes.
"use strict";

const fs = require("fs");
const path = require("path");

const [modules, isoPath] = process.argv.slice(2);
if (!modules || !isoPath) {
  process.stderr.write("usage: world-map.js NODE_MODULES ISO_3166_1_JSON\n");
  process.exit(2);
}
const topojson = require(path.join(modules, "topojson-client"));
const atlasDir = path.join(modules, "world-atlas");
const atlasVersion = JSON.parse(fs.readFileSync(path.join(atlasDir, "package.json"))).version;
const read = (f) => JSON.parse(fs.readFileSync(path.join(atlasDir, f), "utf8"));

const iso = JSON.parse(fs.readFileSync(isoPath, "utf8"))["3166-1"];
const byNumeric = new Map(iso.map((e) => [e.numeric, e]));
const nameOf = (e) => e.common_name || e.name;

// Places too small for even the 1:50m file, or drawn there as part of another country
// (France's outline holds its overseas departments, Norway's Svalbard), by their approximate
// centre in degrees (latitude, longitude): a dot, or, where the 1:110m outline of another
// country holds the point, that polygon as the place's own outline (see splitTerritories).
// Facts from any atlas, rounded to a tenth of a degree.
const HAND_PLACED = {
  BQ: [12.2, -68.3], // Bonaire
  BV: [-54.4, 3.4], // Bouvet Island
  CC: [-12.2, 96.9], // Cocos (Keeling) Islands
  CX: [-10.5, 105.6], // Christmas Island
  GF: [4.0, -53.0], // French Guiana
  GI: [36.1, -5.4], // Gibraltar
  GP: [16.2, -61.6], // Guadeloupe
  MQ: [14.6, -61.0], // Martinique
  RE: [-21.1, 55.5], // Réunion
  SJ: [78.2, 15.6], // Svalbard
  TK: [-9.2, -171.8], // Tokelau
  TV: [-8.5, 179.2], // Tuvalu
  UM: [19.3, 166.6], // Wake Island, the largest of the US Minor Outlying Islands
  YT: [-12.8, 45.2], // Mayotte
};
const NOT_DRAWN = new Set(["AQ"]);

const WIDTH = 1000;
const SOUTH = -58; // degrees: the crop
const DOT_RADIUS = 4;
const STEP = 0.5; // rounding of every coordinate

function naturalEarth(lon, lat) {
  const l = (lon * Math.PI) / 180;
  const p = (lat * Math.PI) / 180;
  const p2 = p * p;
  const p4 = p2 * p2;
  const x = l * (0.8707 - 0.131979 * p2 + p4 * (-0.013791 + p4 * (0.003971 * p2 - 0.001529 * p4)));
  const y = p * (1.007226 + p2 * (0.015085 + p4 * (-0.044475 + 0.028874 * p2 - 0.005916 * p4)));
  return [x, y];
}

const [xMax] = naturalEarth(180, 0);
const [, yTop] = naturalEarth(0, 90);
const [, yBottom] = naturalEarth(0, SOUTH);
const scale = WIDTH / (2 * xMax);
const HEIGHT = Math.ceil((yTop - yBottom) * scale);

function project(lon, lat) {
  const [x, y] = naturalEarth(lon, Math.max(lat, SOUTH - 2));
  return [round((x + xMax) * scale), round((yTop - y) * scale)];
}

function round(v) {
  return Math.round(v / STEP) * STEP;
}

// Shortest text for a number: "0.5" as ".5", "-0.5" as "-.5", integers without a point.
function num(v) {
  let s = String(Math.round(v * 10) / 10);
  if (s.startsWith("0.")) s = s.slice(1);
  else if (s.startsWith("-0.")) s = "-" + s.slice(2);
  return s;
}

// Numbers joined the short way SVG allows: a minus sign or a leading point separates too.
function joinNumbers(ns) {
  let out = "";
  for (const n of ns) {
    const s = num(n);
    if (out === "" || s.startsWith("-") || (s.startsWith(".") && /\.\d*$/.test(out))) {
      out += s;
    } else {
      out += " " + s;
    }
  }
  return out;
}

function ringPath(ring) {
  const pts = [];
  for (const [lon, lat] of ring) {
    const p = project(lon, lat);
    const last = pts[pts.length - 1];
    if (!last || last[0] !== p[0] || last[1] !== p[1]) pts.push(p);
  }
  // The closing point repeats the first: `z` says it.
  while (pts.length > 1) {
    const a = pts[0];
    const b = pts[pts.length - 1];
    if (a[0] === b[0] && a[1] === b[1]) pts.pop();
    else break;
  }
  if (pts.length < 3) return "";
  const deltas = [];
  for (let i = 1; i < pts.length; i++) {
    deltas.push(pts[i][0] - pts[i - 1][0], pts[i][1] - pts[i - 1][1]);
  }
  return "M" + joinNumbers(pts[0]) + "l" + joinNumbers(deltas) + "z";
}

function polygons(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return [geometry.coordinates];
  if (geometry.type === "MultiPolygon") return geometry.coordinates;
  return [];
}

// world-atlas keeps rings whole across the antimeridian (Russia's Chukotka, Fiji), for
// renderers that clip on the sphere. Here a ring is made continuous (longitudes past 180
// allowed), then cut at ±180 and the part beyond drawn on the other side.
function unwrap(ring) {
  const out = [];
  let shift = 0;
  for (let i = 0; i < ring.length; i++) {
    const [lon, lat] = ring[i];
    if (i > 0) {
      const d = lon - ring[i - 1][0];
      if (d > 180) shift -= 360;
      else if (d < -180) shift += 360;
    }
    out.push([lon + shift, lat]);
  }
  return out;
}

// Sutherland-Hodgman against one vertical line: keeps the side where `inside(lon)` holds.
function clipAt(ring, edge, inside) {
  const out = [];
  for (let i = 0; i < ring.length; i++) {
    const a = ring[i];
    const b = ring[(i + 1) % ring.length];
    const ia = inside(a[0]);
    const ib = inside(b[0]);
    if (ia) out.push(a);
    if (ia !== ib) {
      const t = (edge - a[0]) / (b[0] - a[0]);
      out.push([edge, a[1] + t * (b[1] - a[1])]);
    }
  }
  return out;
}

function cutAtAntimeridian(ring) {
  const r = unwrap(ring);
  const lons = r.map((p) => p[0]);
  const max = Math.max(...lons);
  const min = Math.min(...lons);
  const shifted = (k) => r.map(([lon, lat]) => [lon + k, lat]);
  if (max > 180) {
    return [clipAt(r, 180, (l) => l <= 180), clipAt(shifted(-360), -180, (l) => l >= -180)];
  }
  if (min < -180) {
    return [clipAt(r, -180, (l) => l >= -180), clipAt(shifted(360), 180, (l) => l <= 180)];
  }
  return [r];
}

function featurePath(geometry) {
  return polygons(geometry)
    .flatMap((rings) => rings.flatMap(cutAtAntimeridian).map(ringPath))
    .filter((d) => d !== "")
    .join("");
}

// Planar area and centroid of a ring in degrees: good enough to place a dot on a small
// place, which is all it is used for.
function ringCentroid(ring) {
  let a = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < ring.length - 1; i++) {
    const [x0, y0] = ring[i];
    const [x1, y1] = ring[i + 1];
    const f = x0 * y1 - x1 * y0;
    a += f;
    cx += (x0 + x1) * f;
    cy += (y0 + y1) * f;
  }
  if (a === 0) return { area: 0, at: ring[0] };
  return { area: Math.abs(a / 2), at: [cx / (3 * a), cy / (3 * a)] };
}

function largestCentroid(geometry) {
  let best = null;
  for (const rings of polygons(geometry)) {
    const c = ringCentroid(rings[0]);
    if (!best || c.area > best.area) best = c;
  }
  return best && best.at;
}

// The edge of the projected world (the meridians ±180 between the crop and the pole line),
// drawn behind the land as the sea.
function outline() {
  const pts = [];
  for (let lat = SOUTH; lat <= 90; lat += 2) pts.push(project(180, lat));
  for (let lat = 90; lat >= SOUTH; lat -= 2) pts.push(project(-180, lat));
  return "M" + pts.map((p) => joinNumbers(p)).join("L") + "z";
}

function escapeXml(s) {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const features = (file) => {
  const topo = read(file);
  return topojson.feature(topo, topo.objects.countries).features;
};

// Natural Earth draws some territories that have their own ISO code as part of another
// country (French Guiana in France, Svalbard in Norway): a polygon that holds one of the
// hand-placed points is given to that point's code, so a mirror in French Guiana colours
// French Guiana, not France.
function insideRing(ring, lon, lat) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

function splitTerritories(geometry) {
  const own = [];
  const given = new Map();
  for (const rings of polygons(geometry)) {
    const hit = Object.entries(HAND_PLACED).find(([, [lat, lon]]) => insideRing(rings[0], lon, lat));
    if (hit) {
      if (!given.has(hit[0])) given.set(hit[0], []);
      given.get(hit[0]).push(rings);
    } else {
      own.push(rings);
    }
  }
  return { own: { type: "MultiPolygon", coordinates: own }, given };
}

const lines = [];
const drawn = new Set();
const neutral = [];
const territories = [];
for (const f of features("countries-110m.json")) {
  const e = f.id === undefined ? undefined : byNumeric.get(f.id);
  if (e && NOT_DRAWN.has(e.alpha_2)) continue;
  const { own, given } = splitTerritories(f.geometry);
  const d = featurePath(own);
  if (d === "") continue;
  if (!e) {
    neutral.push(`<path d="${d}"><title>${escapeXml(f.properties.name)}</title></path>`);
    continue;
  }
  if (drawn.has(e.alpha_2)) throw new Error(`two outlines for ${e.alpha_2}`);
  drawn.add(e.alpha_2);
  lines.push([e.alpha_2, `<path data-cc="${e.alpha_2}" d="${d}"><title>${escapeXml(nameOf(e))}</title></path>`]);
  for (const [cc, polys] of given) territories.push([cc, polys]);
}
const byAlpha2 = new Map(iso.map((e) => [e.alpha_2, e]));
for (const [cc, polys] of territories) {
  const e = byAlpha2.get(cc);
  if (!e || drawn.has(cc)) throw new Error(`territory ${cc} drawn twice or unknown`);
  const d = featurePath({ type: "MultiPolygon", coordinates: polys });
  if (d === "") continue;
  drawn.add(cc);
  process.stderr.write(`world-map: ${cc} drawn on its own, out of another country's outline\n`);
  lines.push([cc, `<path data-cc="${cc}" d="${d}"><title>${escapeXml(nameOf(e))}</title></path>`]);
}

const dots = new Map();
for (const f of features("countries-50m.json")) {
  const e = f.id === undefined ? undefined : byNumeric.get(f.id);
  if (!e || drawn.has(e.alpha_2) || NOT_DRAWN.has(e.alpha_2)) continue;
  const at = largestCentroid(f.geometry);
  if (at) dots.set(e.alpha_2, at);
}
for (const [cc, [lat, lon]] of Object.entries(HAND_PLACED)) {
  if (!drawn.has(cc) && !dots.has(cc)) dots.set(cc, [lon, lat]);
}

for (const e of iso) {
  const cc = e.alpha_2;
  if (drawn.has(cc)) continue;
  const name = escapeXml(nameOf(e));
  const at = dots.get(cc);
  if (at && !NOT_DRAWN.has(cc)) {
    const [x, y] = project(at[0], at[1]);
    lines.push([cc, `<circle data-cc="${cc}" cx="${num(x)}" cy="${num(y)}" r="${DOT_RADIUS}"><title>${name}</title></circle>`]);
  } else {
    lines.push([cc, `<g data-cc="${cc}"><title>${name}</title></g>`]);
  }
}
const missing = iso.filter((e) => !lines.some(([cc]) => cc === e.alpha_2)).map((e) => e.alpha_2);
if (missing.length > 0) throw new Error(`no line for ${missing.join(" ")}`);
lines.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

const out = [];
out.push(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" fill="#ddd" stroke="#fff" stroke-width=".5" fill-rule="evenodd">`);
out.push(`<!-- World map of mirrorproof's HTML report. Boundaries: Natural Earth 1:110m admin 0 countries`);
out.push(`     (public domain, https://www.naturalearthdata.com/), via the npm package world-atlas ${atlasVersion};`);
out.push(`     dots for places too small for 1:110m from its 1:50m file. Codes and names: ISO 3166-1 from`);
out.push(`     Debian's iso-codes. Natural Earth I projection, cropped below 58 degrees south.`);
out.push(`     Generated by scripts/world-map.sh; do not edit by hand. Regenerate with:`);
out.push(`       scripts/world-map.sh`);
out.push(`     One element per line: src/report/html.rs reads them line by line. -->`);
out.push(`<path class="sphere" d="${outline()}"/>`);
for (const [, l] of lines) out.push(l);
for (const l of neutral) out.push(l);
out.push("</svg>");
process.stdout.write(out.join("\n") + "\n");
