"""``/reconcile`` against the Reconciliation Service API 0.2: every answer validates with
the specification's published JSON schemas (tests/fixtures/reconciliation-0.2, W3C
licence), a client sends what OpenRefine sends, and malformed batches are clear 400s."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT7

SPEC = Path(__file__).parent / "fixtures" / "reconciliation-0.2"


def registry() -> Registry:
    resources = []
    for path in (SPEC / "schemas").glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], DRAFT7.create_resource(schema)))
        # Relative references ("type.json") resolve against the 0.2 folder.
        resources.append((f"https://reconciliation-api.github.io/specs/0.2/schemas/{path.name}",
                          DRAFT7.create_resource(schema)))  # fmt: skip
    return Registry().with_resources(resources)


REGISTRY = registry()


def validate(document: Any, schema_name: str) -> None:
    schema = json.loads((SPEC / "schemas" / f"{schema_name}.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema, registry=REGISTRY)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


class OpenRefine:
    """Sends what OpenRefine 3.x sends: GET for the manifest, form-encoded POSTs for
    ``queries`` and ``extend``, GETs with ``prefix`` for suggest, the preview template."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.http = httpx.Client(timeout=60, headers={"User-Agent": "OpenRefine/3.8.7"})
        self.manifest = self.http.get(endpoint).json()

    def reconcile(self, queries: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(self.endpoint, data={"queries": json.dumps(queries)})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def extend(self, ids: list[str], properties: list[str]) -> dict[str, Any]:
        body = {"ids": ids, "properties": [{"id": p} for p in properties]}
        response = self.http.post(self.endpoint, data={"extend": json.dumps(body)})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def suggest(self, kind: str, prefix: str) -> dict[str, Any]:
        service = self.manifest["suggest"][kind]
        url = service["service_url"] + service["service_path"]
        return dict(self.http.get(url, params={"prefix": prefix}).json())


@pytest.fixture(scope="module")
def refine(live_server: Any) -> OpenRefine:
    return OpenRefine(live_server.url + "/reconcile")


def test_manifest_validates_and_points_at_this_server(refine: OpenRefine, live_server: Any) -> None:
    validate(refine.manifest, "manifest")
    assert refine.manifest["versions"] == ["0.2"]
    assert refine.manifest["view"]["url"].startswith(live_server.url + "/resource/")
    response = refine.http.get(refine.endpoint)
    assert response.headers["access-control-allow-origin"] == "*"


# The article's spellings, other romanisations and a Wikidata id, with the entity each
# names: Pashinyan (line 1), Mnatsakanyan (37), Shusha (9), Lachin (65; Lacin on 27),
# Mingechevir (1, 3; Mingachevir on 17) and Putin (Wikidata's Q7747).
NAMES = {
    "Pashinian": "nikol-pashinyan",
    "Mnatsakanian": "zohrab-mnatsakanyan",
    "Shushi": "shusha",
    "Lachyn": "lachin",
    "Lacin": "lachin",
    "Mingechevir": "mingachevir",
    "Q7747": "vladimir-putin",
    "Lavrov": "sergei-lavrov",
}


def test_spelling_variants_reconcile_to_our_entities(refine: OpenRefine) -> None:
    queries = {f"q{i}": {"query": name, "limit": 3} for i, name in enumerate(NAMES)}
    results = refine.reconcile(queries)
    validate(results, "reconciliation-result-batch")
    for key, query in queries.items():
        top = results[key]["result"][0]
        assert top["id"] == NAMES[str(query["query"])], (query, results[key])
        assert top["match"] is True, (query, top)
        assert len(results[key]["result"]) <= 3


def test_types_filter_and_should_only_reranks(refine: OpenRefine) -> None:
    results = refine.reconcile(
        {
            "city": {"query": "Lachin", "type": "City"},
            "person": {"query": "Lachin", "type": "Person"},
            "should": {"query": "Lachin", "type": "Person", "type_strict": "should"},
        }
    )
    validate(results, "reconciliation-result-batch")
    assert [c["id"] for c in results["city"]["result"]] == ["lachin"]
    assert all(c["id"] != "lachin" for c in results["person"]["result"])
    should = results["should"]["result"]
    assert should and should[0]["match"] is False  # the best has not the requested type
    assert any(c["id"] == "lachin" for c in should)


def test_property_constraints_score_and_decide_the_match(refine: OpenRefine) -> None:
    # Line 33: "Azerbaijani President Ilham Aliyev".
    president = {"pid": "holdsPost", "v": "President of Azerbaijan"}
    wrong = {"pid": "holdsPost", "v": {"id": "president-of-france"}}
    results = refine.reconcile(
        {
            "right": {"query": "Aliev", "type": "Person", "properties": [president]},
            "wrong": {"query": "Aliev", "type": "Person", "properties": [wrong]},
            "only": {"properties": [{"pid": "wikidata", "v": "Q3052772"}]},
        }
    )
    validate(results, "reconciliation-result-batch")
    right, wrong_top = results["right"]["result"][0], results["wrong"]["result"][0]
    assert right["id"] == wrong_top["id"] == "ilham-aliyev"
    assert right["match"] and not wrong_top["match"]
    assert right["score"] > wrong_top["score"]
    features = {f["id"]: f["value"] for f in right["features"]}
    assert features["property:holdsPost"] == 1
    assert results["only"]["result"][0]["id"] == "emmanuel-macron"


def test_suggest_services_validate(refine: OpenRefine) -> None:
    entities = refine.suggest("entity", "Mnats")
    validate(entities, "suggest-entities-response")
    assert entities["result"][0]["id"] == "zohrab-mnatsakanyan"
    assert refine.suggest("entity", "sergei-lavrov")["result"][0]["id"] == "sergei-lavrov"
    types = refine.suggest("type", "pers")
    validate(types, "suggest-types-response")
    assert types["result"][0]["id"] == "Person"
    properties = refine.suggest("property", "holds")
    validate(properties, "suggest-properties-response")
    assert properties["result"][0]["id"] == "holdsPost"


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/suggest/entity", "prefix"),
        ("/suggest/type", "prefix"),
        ("/suggest/property", "prefix"),
        ("/propose_properties", "type"),
        ("/preview", "id"),
    ],
)
def test_a_name_past_the_bound_is_a_414_as_everywhere(
    refine: OpenRefine, path: str, name: str
) -> None:
    """Names over 300 characters are refused with 414 ``name-too-long`` on every route;
    these answered FastAPI's 422."""
    refused = refine.http.get(refine.endpoint + path, params={name: "x" * 400})
    assert refused.status_code == 414 and refused.json()["code"] == "name-too-long"
    assert refused.headers["access-control-allow-origin"] == "*"


def test_a_parameter_given_twice_is_refused_with_cors_as_every_error(refine: OpenRefine) -> None:
    """The app's check of repeated parameters runs before the service's handlers: its 400
    came without the CORS header a browser client needs to read it."""
    refused = refine.http.get(refine.endpoint + "/suggest/entity?prefix=a&prefix=b")
    assert refused.status_code == 400 and refused.json()["code"] == "repeated-parameter"
    assert refused.headers["access-control-allow-origin"] == "*"


def test_preview_is_escaped_html_of_the_entity(refine: OpenRefine) -> None:
    url = refine.manifest["preview"]["url"].replace("{{id}}", "nikol-pashinyan")
    response = refine.http.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "Nikol Pashinyan" in response.text and "Prime Minister of Armenia" in response.text
    missing = refine.http.get(refine.manifest["preview"]["url"].replace("{{id}}", "nobody"))
    assert missing.status_code == 404


def test_data_extension_fetches_offices_state_and_wikidata(refine: OpenRefine) -> None:
    service = refine.manifest["extend"]["propose_properties"]
    proposal = refine.http.get(
        service["service_url"] + service["service_path"], params={"type": "Person"}
    ).json()
    validate(proposal, "data-extension-property-proposal")
    assert {"holdsPost", "actsFor", "wikidata"} <= {p["id"] for p in proposal["properties"]}
    extension = refine.extend(
        ["vladimir-putin", "sergei-lavrov"], ["holdsPost", "actsFor", "wikidata"]
    )
    validate(extension, "data-extension-response")
    putin = extension["rows"]["vladimir-putin"]
    # Line 29: "Russian President Vladimir Putin".
    assert {"id": "president-of-russia", "name": "President of Russia"} in putin["holdsPost"]
    assert {"id": "russia", "name": "Russia"} in putin["actsFor"]
    assert putin["wikidata"] == [{"str": "Q7747"}]
    assert {m["id"] for m in extension["meta"]} == {"holdsPost", "actsFor", "wikidata"}


def spec_examples(kind: str, verdict: str) -> list[Path]:
    return sorted((SPEC / "examples" / kind / verdict).glob("*.json"))


@pytest.mark.parametrize(
    "example", spec_examples("reconciliation-query-batch", "invalid"), ids=lambda p: p.stem
)
def test_the_specs_invalid_batches_are_400(refine: OpenRefine, example: Path) -> None:
    batch = json.loads(example.read_text(encoding="utf-8"))
    with pytest.raises(AssertionError):  # the schema says it is invalid
        validate(batch, "reconciliation-query-batch")
    response = refine.http.post(refine.endpoint, data={"queries": json.dumps(batch)})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "malformed-reconciliation-batch"
    assert "query 'q" in response.json()["detail"]  # names the query at fault


@pytest.mark.parametrize(
    "example", spec_examples("reconciliation-query-batch", "valid"), ids=lambda p: p.stem
)
def test_the_specs_valid_batches_are_parsed(refine: OpenRefine, example: Path) -> None:
    # The examples use another service's types and properties (GND): structurally fine,
    # so the answer is either results or a 400 naming the unknown type or property.
    batch = json.loads(example.read_text(encoding="utf-8"))
    response = refine.http.post(refine.endpoint, data={"queries": json.dumps(batch)})
    if response.status_code == 200:
        validate(response.json(), "reconciliation-result-batch")
    else:
        assert response.status_code == 400
        assert (
            "unknown type" in response.json()["detail"]
            or "unknown property" in response.json()["detail"]
        )


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("{not json", "is not JSON"),
        ("[]", "must be a JSON object"),
        ('{"q0": "Lavrov"}', "query 'q0' must be an object"),
        ('{"q0": {"query": "Lavrov", "limit": -1}}', "limit"),
        ('{"q0": {"query": "Lavrov", "limit": 1e999}}', "limit"),
        ('{"q0": {"query": "Lavrov", "limit": NaN}}', "limit"),
        ('{"q0": {"query": "Lavrov", "type_strict": "maybe"}}', "type_strict"),
        ('{"q0": {"query": "Lavrov", "type": "Unicorn"}}', "unknown type 'Unicorn'"),
        ('{"q0": {"query": "Lavrov", "properties": [{"pid": "x"}]}}', "'pid' and 'v'"),
        ('{"q0": {"query": 42}}', "query must be a string"),
        ("[" * 1500 + "]" * 1500, "nests arrays or objects too deeply"),  # 3 KB
    ],
)
def test_malformed_batches_are_400_naming_the_problem(
    refine: OpenRefine, body: str, named: str
) -> None:
    for send in (
        lambda: refine.http.post(refine.endpoint, data={"queries": body}),
        lambda: refine.http.get(refine.endpoint, params={"queries": body}),
    ):
        response = send()
        assert response.status_code == 400
        assert response.json()["code"] == "malformed-reconciliation-batch"
        assert named in response.json()["detail"]


def test_a_query_gets_up_to_its_limit_of_candidates(refine: OpenRefine) -> None:
    """``limit`` goes up to 100 (docs/events.md): a text that many names contain gave 50
    at most, the size of the pool scored."""
    batch = {"q0": {"query": "a", "limit": 100}, "q1": {"query": "a", "limit": 7}}
    answer = refine.http.post(refine.endpoint, data={"queries": json.dumps(batch)}).json()
    assert 50 < len(answer["q0"]["result"]) <= 100
    assert len(answer["q1"]["result"]) == 7


def test_limits_batch_size_and_extension(refine: OpenRefine) -> None:
    batch = {f"q{i}": {"query": "Lavrov"} for i in range(refine.manifest["batchSize"] + 1)}
    response = refine.http.post(refine.endpoint, data={"queries": json.dumps(batch)})
    assert response.status_code == 413
    bad = refine.http.post(refine.endpoint, data={"extend": '{"ids": ["x"]}'})
    assert bad.status_code == 400 and "properties" in bad.json()["detail"]
    for refused in (response, bad):  # a browser client reads the service's errors too
        assert refused.headers["access-control-allow-origin"] == "*"
    nothing = refine.http.post(refine.endpoint, data={})
    assert nothing.status_code == 400 and "queries" in nothing.json()["detail"]
    # a JSON body is no form: its fields were read as missing (400 "needs a form field")
    as_json = refine.http.post(refine.endpoint, json={"queries": {"q0": {"query": "Lavrov"}}})
    assert as_json.status_code == 415 and "form" in as_json.json()["detail"]
