// Deal cards: picture, title, price (the original struck through), discount, market,
// seller rating, a link out, and the price history as a small SVG chart.

import { link, safeUrl } from "./markdown.js";

const SVG = "http://www.w3.org/2000/svg";
const MARKETS = { amazon: "Amazon", walmart: "Walmart", ebay: "eBay", target: "Target", bestbuy: "Best Buy" };

export const marketName = (market) => MARKETS[market] || market || "Shop";
export const dollars = (value) => (value == null ? "" : `$${Number(value).toFixed(2)}`);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

// "Walmart.com" selling at Walmart says nothing new.
const sameShop = (seller, market) =>
  seller.toLowerCase().replace(/\.com$/, "").replace(/\s+/g, "") === (market || "").toLowerCase();

export function dealCard(deal, loadPrices) {
  const card = el("article", "deal-card");
  card.setAttribute("aria-label", `${deal.title}, ${dollars(deal.price)} at ${marketName(deal.market)}`);
  const picture = el("div", "deal-image");
  const src = deal.image_url && safeUrl(deal.image_url);
  if (src) {
    const img = el("img");
    img.src = src;
    img.alt = "";
    img.loading = "lazy";
    img.addEventListener("error", () => img.remove());
    picture.append(img);
  }
  card.append(picture);

  const body = el("div", "deal-body");
  body.append(el("h3", "deal-title", deal.title));
  const prices = el("p", "deal-prices");
  prices.append(el("span", "deal-price", dollars(deal.price)));
  if (deal.original_price && Number(deal.original_price) > Number(deal.price)) {
    const was = el("s", "deal-was", dollars(deal.original_price));
    was.setAttribute("aria-label", `was ${dollars(deal.original_price)}`);
    prices.append(" ", was);
  }
  if (deal.discount_percent && Number(deal.discount_percent) > 0) {
    prices.append(" ", el("span", "deal-badge", `−${Math.round(Number(deal.discount_percent))}%`));
  }
  body.append(prices);
  const meta = el("p", "deal-meta");
  meta.append(el("span", "deal-market", marketName(deal.market)));
  if (deal.seller && !sameShop(deal.seller, deal.market)) meta.append(" · ", el("span", "deal-seller", deal.seller));
  if (deal.seller_rating) meta.append(" · ", el("span", "deal-rating", `★ ${Number(deal.seller_rating).toFixed(1)}`));
  body.append(meta);
  const href = safeUrl(deal.url || "");
  if (href) {
    const out = link(`View at ${marketName(deal.market)}`, href);
    out.className = "deal-link";
    body.append(out);
  }
  card.append(body);
  if (deal.deal_id) {
    const chart = el("div", "deal-chart");
    card.append(chart);
    loadPrices(deal.deal_id)
      .then((points) => chart.append(priceChart(points), el("span", "chart-caption", chartCaption(points))))
      .catch(() => chart.remove());
  }
  return card;
}

function chartCaption(points) {
  const prices = points.map((p) => Number(p.price));
  if (!prices.length) return "No price history yet";
  const low = Math.min(...prices);
  const high = Math.max(...prices);
  const seen = prices.length === 1 ? "1 price seen" : `${prices.length} prices seen`;
  return low === high ? `${seen}: ${dollars(low)}` : `${seen}: ${dollars(low)} to ${dollars(high)}`;
}

export function priceChart(points) {
  const width = 140;
  const height = 44;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "price-chart");
  svg.setAttribute("role", "img");
  const prices = points.map((p) => Number(p.price));
  const low = Math.min(...prices);
  const high = Math.max(...prices);
  svg.setAttribute("aria-label", prices.length
    ? `Price history: ${prices.length} observations, from ${dollars(low)} to ${dollars(high)}`
    : "No price history yet");
  if (!prices.length) return svg;
  const span = high - low || 1;
  const step = prices.length > 1 ? (width - 8) / (prices.length - 1) : 0;
  const xy = prices.map((price, i) => [4 + i * step, height - 6 - ((price - low) / span) * (height - 12)]);
  if (xy.length === 1) xy.push([width - 4, xy[0][1]]);
  const line = document.createElementNS(SVG, "polyline");
  line.setAttribute("points", xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "));
  line.setAttribute("class", "price-line");
  svg.append(line);
  const [lx, ly] = xy[prices.length - 1];
  const dot = document.createElementNS(SVG, "circle");
  dot.setAttribute("cx", lx.toFixed(1));
  dot.setAttribute("cy", ly.toFixed(1));
  dot.setAttribute("r", "3");
  dot.setAttribute("class", "price-dot");
  svg.append(dot);
  return svg;
}

export function dealGrid(deals, loadPrices) {
  const grid = el("div", "deal-grid");
  for (const deal of deals) grid.append(dealCard(deal, loadPrices));
  return grid;
}
