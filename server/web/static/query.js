// The query page: YASGUI on this server's /sparql, example queries, and links from
// result IRIs to this server's resource pages.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("query-config").textContent);
  const examples = JSON.parse(document.getElementById("examples").textContent);
  const endpoint = new URL(config.endpoint, window.location.href).href;
  const toggle = document.getElementById("include-inferred");
  document.getElementById("endpoint-url").textContent = endpoint;

  // Only completers that work offline: LOV look-ups for classes and properties would
  // call a remote service.
  Yasgui.Yasqe.defaults.autocompleters = ["variables", "prefixes"];
  Yasgui.Yasr.plugins.table.defaults.openIriInNewWindow = false;

  function requestArgs() {
    return toggle.checked ? [] : [{ name: config.inferParameter, value: "false" }];
  }

  // The editor's checker knows the prefixes the endpoint predeclares, so `kg:x` without a
  // PREFIX line is not marked as an error: every tokenizer state starts with them.
  const sparqlMode = Yasgui.Yasqe.modes && Yasgui.Yasqe.modes.sparql11;
  if (sparqlMode) {
    Yasgui.Yasqe.defineMode("sparql11", function (options, spec) {
      const mode = sparqlMode(options, spec);
      const startState = mode.startState;
      mode.startState = function () {
        const state = startState.apply(this, arguments);
        Object.assign(state.prefixes, config.prefixes);
        return state;
      };
      return mode;
    });
  }

  // Errors of the endpoint are RFC 9457 problem documents: show their title and detail as
  // wrapped text rather than one line of raw JSON.
  function renderProblem(error) {
    let problem = null;
    try {
      problem = JSON.parse(error && error.text ? error.text : "");
    } catch (e) {
      return Promise.resolve(undefined);
    }
    if (!problem || typeof problem.detail !== "string") return Promise.resolve(undefined);
    const box = document.createElement("div");
    box.className = "kg-query-error";
    const title = document.createElement("p");
    title.className = "kg-query-error-title";
    title.textContent = (problem.title || "Error") + " (" + (problem.status || error.status) + ")";
    const detail = document.createElement("pre");
    detail.className = "kg-query-error-detail";
    detail.textContent = problem.detail;
    box.append(title, detail);
    if (problem.code) {
      const code = document.createElement("p");
      code.className = "kg-query-error-code";
      code.textContent = "code: " + problem.code;
      box.append(code);
    }
    return Promise.resolve(box);
  }

  // Each tab's results view gets YASGUI's own error renderers (a CORS hint); ours comes after.
  const renderError = Yasgui.Yasr.prototype.renderError;
  Yasgui.Yasr.prototype.renderError = async function (error) {
    return (await renderError.call(this, error)) || renderProblem(error);
  };

  const yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: endpoint, method: "POST", args: requestArgs() },
    copyEndpointOnNewTab: true,
    endpointCatalogueOptions: { getData: () => [{ endpoint: endpoint }], keys: [] },
    persistenceId: "karabakh-kg-query",
    yasr: { prefixes: config.prefixes },
  });

  // Tabs restored from an earlier visit may point at another port: use this server.
  function applyRequestConfig(tab) {
    tab.setEndpoint(endpoint);
    tab.setRequestConfig({ endpoint: endpoint, args: requestArgs() });
  }
  Object.values(yasgui._tabs).forEach(applyRequestConfig);
  yasgui.on("tabAdd", (instance, tabId) => applyRequestConfig(instance.getTab(tabId)));

  toggle.addEventListener("change", () => {
    Object.values(yasgui._tabs).forEach(applyRequestConfig);
  });

  const question = document.getElementById("example-question");
  function loadExample(id, run) {
    const example = examples.find((e) => e.id === id);
    if (!example) return;
    const tab = yasgui.getTab();
    tab.setQuery(example.sparql);
    tab.setName(example.title);
    question.textContent = example.question;
    document.querySelectorAll("button.example").forEach((b) =>
      b.classList.toggle("selected", b.dataset.example === id));
    if (run) tab.query().catch(() => {});
  }
  document.querySelectorAll("button.example").forEach((button) => {
    button.addEventListener("click", () => loadExample(button.dataset.example, true));
  });
  const wanted = new URLSearchParams(window.location.search).get("example");
  if (wanted) loadExample(wanted, true);

  // Result IRIs of this graph point at w3id.org, which does not resolve yet: show
  // this server's page for them instead.
  function localPath(iri) {
    if (!iri.startsWith(config.base)) return null;
    const rest = iri.slice(config.base.length);
    if (rest.startsWith("resource/") || rest.startsWith("evidence/")) return "/" + rest;
    if (rest.startsWith("ontology")) return "/ontology" + rest.slice("ontology".length);
    return null;
  }
  function rewriteLinks(root) {
    root.querySelectorAll("a[href^='" + config.base + "']").forEach((a) => {
      const path = localPath(a.getAttribute("href"));
      if (path) {
        a.setAttribute("href", path);
        a.removeAttribute("target");
        a.classList.add("local");
      }
    });
  }
  new MutationObserver(() => rewriteLinks(document.getElementById("yasgui")))
    .observe(document.getElementById("yasgui"), { childList: true, subtree: true });
  window.karabakhLocalPath = localPath;
  window.karabakhQuery = { yasgui: yasgui, loadExample: loadExample };
})();
