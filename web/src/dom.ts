// Building the page without ever parsing text as HTML: every string goes in as a text node or
// an attribute value, so nothing an event, alert or user name holds can become markup.

type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;
export type Child = Node | string | number | null | undefined | false | Child[];

/** An element with attributes (`on...` keys add listeners) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith("on") && typeof value === "function") {
        el.addEventListener(key.slice(2), value);
      } else if (value === true) {
        el.setAttribute(key, "");
      } else {
        el.setAttribute(key, String(value));
      }
    }
  }
  append(el, children);
  return el;
}

export function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else if (child instanceof Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

const numberFormat = new Intl.NumberFormat("en");
export function num(n: number): string {
  return numberFormat.format(n);
}

export function time(text: string | null | undefined): string {
  if (!text) return "";
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) return text;
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** A figure the tests read back: `data-figure` names it. */
export function figure(name: string, value: number, label: string): HTMLElement {
  return h(
    "div",
    { class: "figure" },
    h("span", { class: "figure-value", "data-figure": name }, num(value)),
    h("span", { class: "figure-label" }, label),
  );
}

/** A table with a caption; rows of cells. */
export function table(caption: string, headers: Child[], rows: Child[][], attrs: Attrs = {}, empty = "None"): HTMLElement {
  return h(
    "table",
    attrs,
    h("caption", null, caption),
    h("thead", null, h("tr", null, headers.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", null, rows.length === 0
      ? h("tr", null, h("td", { colspan: headers.length, class: "muted" }, empty))
      : rows.map((cells) => h("tr", null, cells.map((c) => h("td", null, c))))),
  );
}

export function notice(kind: "error" | "info", text: string): HTMLElement {
  return h("p", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}
