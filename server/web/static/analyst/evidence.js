// Shared by the timeline and the map: the panel that shows an event's quotes and claimants.
"use strict";

window.karabakhEvidence = (() => {
  const text = (tag, value, className) => {
    const node = document.createElement(tag);
    node.textContent = value;
    if (className) node.className = className;
    return node;
  };
  const link = (href, value) => {
    const node = document.createElement(href ? "a" : "span");
    if (href) node.href = href;
    node.textContent = value;
    return node;
  };

  // Fill `panel` with the event of a timeline item or map event (same JSON shape).
  function show(panel, event) {
    panel.replaceChildren();
    const title = document.createElement("h2");
    title.append(link(event.href, event.label));
    panel.append(title);
    const facts = [];
    if (event.date) facts.push(`date ${event.date} (precision: ${event.precision}` +
      (event.reading ? `, reading ${event.reading} of ${event.readings}` : "") + ")");
    if (event.time) facts.push(`time ${event.time}`);
    facts.push(`shown as ${event.presentation}`);
    if (event.statuses && event.statuses.length) facts.push(`status: ${event.statuses.join(", ")}`);
    panel.append(text("p", facts.join(" · "), "facts"));
    if (event.participants && event.participants.length) {
      panel.append(text("p", "Participants: " + event.participants.map((p) => p.label).join(", ")));
    }
    const list = document.createElement("ol");
    list.className = "evidence";
    for (const ref of event.evidence) {
      const item = document.createElement("li");
      if (ref.quote) item.append(text("blockquote", ref.quote, "quote"));
      const who = document.createElement("p");
      who.className = "claimant";
      who.append(`${ref.stance || "?"} · says who: `, text("strong", ref.claimantLabel || "unattributed"));
      if (ref.statuses && ref.statuses.length) who.append(` · ${ref.statuses.join(", ")}`);
      if (ref.line) who.append(` · line ${ref.line}`);
      if (ref.reportedOn) who.append(` · said on ${ref.reportedOn}`);
      who.append(" · ", link(ref.href, "evidence"));
      item.append(who);
      list.append(item);
    }
    panel.append(list);
    panel.hidden = false;
  }

  return { show };
})();
