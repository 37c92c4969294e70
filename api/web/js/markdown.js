// A small markdown subset turned into DOM nodes: text only ever goes through
// textContent, so nothing from a model, a shop or a product page can become markup.
// Paragraphs, line breaks, "- " and "1. " lists, **bold**, *italic*, `code`, and links
// (written [text](url) or bare) whose address is http(s); any other link stays text.

const INLINE = /(\*\*([^*]+)\*\*|\*([^*\s][^*]*)\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\)|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"]))/g;

export function safeUrl(raw) {
  try {
    const url = new URL(raw, location.href);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

export function link(text, href) {
  const a = document.createElement("a");
  a.textContent = text;
  a.href = href;
  a.target = "_blank";
  a.rel = "noopener noreferrer nofollow";
  return a;
}

function inline(parent, text) {
  let last = 0;
  for (const m of text.matchAll(INLINE)) {
    if (m.index > last) parent.append(text.slice(last, m.index));
    if (m[2] !== undefined) {
      const b = document.createElement("strong"); b.textContent = m[2]; parent.append(b);
    } else if (m[3] !== undefined) {
      const i = document.createElement("em"); i.textContent = m[3]; parent.append(i);
    } else if (m[4] !== undefined) {
      const c = document.createElement("code"); c.textContent = m[4]; parent.append(c);
    } else if (m[5] !== undefined) {
      const href = safeUrl(m[6]);
      parent.append(href ? link(m[5], href) : m[0]);
    } else {
      const href = safeUrl(m[7]);
      parent.append(href ? link(m[7], href) : m[7]);
    }
    last = m.index + m[0].length;
  }
  if (last < text.length) parent.append(text.slice(last));
}

export function renderMarkdown(text) {
  const root = document.createDocumentFragment();
  let list = null;
  let paragraph = null;
  for (const line of String(text).split("\n")) {
    const bullet = line.match(/^\s*(?:[-*•]|(\d+)\.)\s+(.*)$/);
    if (bullet) {
      const kind = bullet[1] ? "OL" : "UL";
      if (!list || list.tagName !== kind) {
        list = document.createElement(kind.toLowerCase());
        root.append(list);
      }
      const item = document.createElement("li");
      inline(item, bullet[2]);
      list.append(item);
      paragraph = null;
    } else if (!line.trim()) {
      list = null;
      paragraph = null;
    } else {
      list = null;
      if (paragraph) paragraph.append(document.createElement("br"));
      else {
        paragraph = document.createElement("p");
        root.append(paragraph);
      }
      inline(paragraph, line);
    }
  }
  return root;
}
