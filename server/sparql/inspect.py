r"""The one reading of SPARQL text that decides what the server decides before execution.

:func:`inspect` parses the text once with the SPARQL 1.1 Query and Update grammar
(``sparql.lark``, written from the recommendation's productions) by lark's LALR(1) parser
and contextual lexer, and reports:

* the query form (``SELECT``, ``ASK``, ``CONSTRUCT``, ``DESCRIBE``) or an update, for
  content negotiation and to send updates to the update endpoint;
* the ``FROM`` / ``FROM NAMED`` graphs;
* how deeply ``(``, ``{`` and ``[`` nest, so that texts the engine cannot take are refused
  first (pyoxigraph's parser is recursive: it overflows its stack, and kills the worker,
  some thousands deep; lark's LALR parser keeps its own stack and cannot overflow);
* every ``SERVICE`` (``SILENT`` or not, at any depth) and ``LOAD``, with where its endpoint
  or source stands in the text and the ``PREFIX`` / ``BASE`` declarations before it, from
  which :mod:`~karabakh_kg.server.sparql.guard` decides whether the text may reach the
  network, and rewrites a refused ``SERVICE SILENT`` endpoint in place.

Why a grammar, and not a scan of the tokens: two of the engine's readings depend on the
grammar, not on the characters alone. ``<`` opens an IRI, or is less-than inside an
expression: ``FILTER(?a<?b)SERVICE:x#>`` is a comparison then a call for the engine, an
IRI for a scanner. And keywords need no boundary: ``1.5e5SERVICE`` is a number then a
keyword. The contextual lexer reads each token with the terminals that the parser's state
accepts, as the engine does (its parser reads characters where the grammar expects them),
so ``<`` is read as an IRI only where an IRI may stand; the grammar keeps expressions'
terms apart from triple patterns' so that LALR's merged states do not let an IRI in after
an operand (the grammar file says how). Here the engine departs from the recommendation,
whose tokens are the longest that match wherever they stand (the W3C test ``syn-bad-26``,
``FILTER (?x<?a&&?b>?y)``, is an IRI ``<?a&&?b>`` there, so a syntax error): the reading
follows the engine, which compares.

When the text does not follow the grammar (a syntax error, or syntax beyond SPARQL 1.1
that the engine reads, such as SPARQL 1.2's ``<<``), :attr:`Inspection.error` says where;
the form is then the first form or update keyword read, and the depth an upper bound: the
nesting read before the error plus every opening bracket (and ``<<``) after it. The engine
then decides whether the text is SPARQL (its message is the one users see), and the guard
refuses such a text if it could call out.

Why lark: a maintained pure-Python parser generator whose LALR parser runs in time linear
in the text without recursion, with a contextual lexer. A fraction of a millisecond for a
typical query, about six times the token scan it replaced (bench/README.md, Reading SPARQL
text), so it runs on every query; the endpoint remembers the inspections of short texts.
"""

from __future__ import annotations

import _sre
import array
import functools
import hashlib
import importlib
import io
import pickle
import re
import sys
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lark
from lark import Lark, Token, Transformer
from lark.exceptions import (
    LarkError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
)

GRAMMAR = Path(__file__).with_name("sparql.lark")
QUERY_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)


@dataclass(frozen=True)
class Declaration:
    """A ``PREFIX`` (``name`` without its colon) or ``BASE`` (``name`` empty), as written."""

    kind: str
    name: str
    iri: str
    """The IRI as written, without its angle brackets (escapes not expanded)."""


@dataclass(frozen=True)
class Reference:
    """An IRI, prefixed name or variable as written, where it stands, and the declarations
    read before it (in order; an update may declare prefixes between its operations)."""

    kind: str
    """``IRIREF``, ``PNAME`` or ``VAR``."""
    text: str
    start: int
    end: int
    prologue: tuple[Declaration, ...] = ()


@dataclass(frozen=True)
class ServiceClause:
    endpoint: Reference
    silent: bool
    start: int
    """Offset of the ``SERVICE`` keyword."""


@dataclass(frozen=True)
class Inspection:
    """What the reading found in one request's SPARQL text."""

    form: str | None = None
    """``SELECT``/``ASK``/``CONSTRUCT``/``DESCRIBE``, ``UPDATE``, or None if not recognised
    (an empty update, made of declarations only, is None too)."""
    has_dataset_clause: bool = False
    depth: int = 0
    """Deepest nesting of ``(``, ``{`` and ``[`` outside strings, comments and IRIs (an upper
    bound when :attr:`error` is set)."""
    error: str | None = None
    """Why the text does not follow the SPARQL 1.1 grammar; None when it does (then every
    field is exact)."""
    services: tuple[ServiceClause, ...] = ()
    loads: tuple[Reference, ...] = ()
    from_default: tuple[Reference, ...] = ()
    from_named: tuple[Reference, ...] = ()

    @property
    def is_update(self) -> bool:
        return self.form == "UPDATE"

    @property
    def returns_graph(self) -> bool:
        return self.form in {"CONSTRUCT", "DESCRIBE"}


@dataclass
class _Reading:
    """What the parser's callbacks collect during one parse."""

    form: str | None = None
    has_from: bool = False
    open: int = 0
    depth: int = 0
    prologue: list[Declaration] = field(default_factory=list)
    services: list[ServiceClause] = field(default_factory=list)
    loads: list[Reference] = field(default_factory=list)
    from_default: list[Reference] = field(default_factory=list)
    from_named: list[Reference] = field(default_factory=list)

    def reference(self, token: Token) -> Reference:
        kind = "VAR" if token.type in {"VAR1", "VAR2"} else token.type
        start = token.start_pos or 0
        return Reference(kind, str(token), start, start + len(token), tuple(self.prologue))


_current = threading.local()
"""The reading of the parse running in this thread (callbacks have no other context)."""


def _reading() -> _Reading:
    reading: _Reading = _current.reading
    return reading


class _Collect(Transformer[Token, Any]):
    """Callbacks run by the LALR parser as it reduces a rule (no tree is walked after)."""

    def prefix_decl(self, children: list[Any]) -> None:
        name, iri = children
        _reading().prologue.append(Declaration("PREFIX", str(name)[:-1], str(iri)[1:-1]))

    def base_decl(self, children: list[Any]) -> None:
        _reading().prologue.append(Declaration("BASE", "", str(children[0])[1:-1]))

    def service_endpoint(self, children: list[Any]) -> Token:
        token: Token = children[0]
        return token

    def service_graph_pattern(self, children: list[Any]) -> None:
        keyword, silent, endpoint = children[0], children[1], children[-2]
        reading = _reading()
        clause = ServiceClause(
            reading.reference(endpoint),
            isinstance(silent, Token) and silent.type == "SILENT",
            keyword.start_pos or 0,
        )
        reading.services.append(clause)

    def load(self, children: list[Any]) -> None:
        reading = _reading()
        source = next(c for c in children if isinstance(c, Token) and c.type in _IRI_TOKENS)
        reading.loads.append(reading.reference(source))

    def from_default(self, children: list[Any]) -> None:
        reading = _reading()
        reading.from_default.append(reading.reference(children[-1]))

    def from_named(self, children: list[Any]) -> None:
        reading = _reading()
        reading.from_named.append(reading.reference(children[-1]))


_IRI_TOKENS = frozenset({"IRIREF", "PNAME"})


def _opening(token: Token) -> Token:
    reading = _reading()
    reading.open += 1
    reading.depth = max(reading.depth, reading.open)
    return token


def _closing(token: Token) -> Token:
    _reading().open -= 1
    return token


def _empty_brackets(token: Token) -> Token:
    reading = _reading()
    reading.depth = max(reading.depth, reading.open + 1)
    return token


def _form(token: Token) -> Token:
    reading = _reading()
    if reading.form is None:
        reading.form = "UPDATE" if token.type in UPDATE_KEYWORDS else token.type
    return token


def _from(token: Token) -> Token:
    _reading().has_from = True
    return token


_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufefe\uff00-\ufffd\U00010000-\U000effff"
)
_U = _BASE + "_"
_CHARS = _U + "\\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_PREFIX = f"(?:[{_BASE}](?:[{_CHARS}.]*[{_CHARS}])?)?"
_LOCAL = f"(?:[{_U}:0-9]|{_PLX})(?:(?:[{_CHARS}.:]|{_PLX})*(?:[{_CHARS}:]|{_PLX}))?"
_EXACT_NAMES = {
    "PNAME_NS": f"{_PREFIX}:",
    "PNAME": f"{_PREFIX}:(?:{_LOCAL})?",
    "BLANK_NODE_LABEL": f"_:[{_U}0-9](?:[{_CHARS}.]*[{_CHARS}])?",
    "VAR1": f"\\?[{_U}0-9][{_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*",
    "VAR2": f"\\$[{_U}0-9][{_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*",
}
"""The names of the productions with their exact character classes ([164]-[169]), less
U+FEFF, white space for the engine."""


@functools.cache
def _exact_name(kind: str) -> re.Pattern[str]:
    return re.compile(_EXACT_NAMES[kind])


class NotAName(LarkError):
    """A name holds a character outside the classes of the productions."""

    def __init__(self, token: Token) -> None:
        super().__init__(f"{str(token)[:40]!r} holds a character not allowed in a name")
        self.token = token


def _name(token: Token) -> Token:
    """The grammar's names let in any character beyond Latin-1 (see sparql.lark): such a
    name must match the productions' exact classes, or the text is not read."""
    if not token.isascii() and _exact_name(token.type).fullmatch(token) is None:
        raise NotAName(token)
    return token


def _lexer_callbacks() -> dict[str, Any]:
    callbacks = {name: _opening for name in ("LPAR", "LBRACE", "LSQB")}
    callbacks |= {name: _closing for name in ("RPAR", "RBRACE", "RSQB")}
    callbacks |= {"NIL": _empty_brackets, "ANON": _empty_brackets, "FROM": _from}
    callbacks |= {name: _name for name in _EXACT_NAMES}
    callbacks |= {name: _form for name in (*QUERY_FORMS, *UPDATE_KEYWORDS)}
    return callbacks


def build_parser() -> Lark:
    """The SPARQL parser made from the grammar (about half a second of CPU)."""
    return Lark(
        GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        transformer=_Collect(),
        lexer_callbacks=_lexer_callbacks(),
    )


def parser_file() -> Path | None:
    """Where the built parser is kept between processes (the cache folder, which the user
    owns), or None when the cache is off. Its name holds a digest of the grammar, of this
    module (the callbacks and options), of lark's version and of Python's, so another
    grammar or version never reads it."""
    from karabakh_kg.graph import reasoned_cache_folder

    folder = reasoned_cache_folder()
    if folder is None:
        return None
    digest = hashlib.sha256()
    for part in (
        GRAMMAR.read_bytes(),
        Path(__file__).read_bytes(),
        lark.__version__.encode(),
        sys.version.encode(),
    ):
        digest.update(len(part).to_bytes(8, "big") + part)
    return folder / f"sparql-parser-{digest.hexdigest()[:32]}.pickle"


@functools.cache
def parser() -> Lark:
    """The SPARQL parser, built once per process, or read back from :func:`parser_file`.

    Why pickled whole rather than lark's own cache: lark's cache keeps its tables in a
    serialised form that it turns back into objects in Python at every start (about 0.04 s
    of CPU, near twice the import of lark), where pickle restores the objects themselves.
    The parser is pickled as built, before any text is read (so no lexer is built), with
    lark's closures left out and made again on loading, the objects that lark compares by
    identity (its Shift and Reduce actions) named, not copied, and the regular expressions
    of its lexers kept compiled (:class:`KeptPatterns`). A file that cannot be read back is
    ignored and replaced."""
    path = parser_file()
    if path is not None:
        loaded = _read_parser(path)
        if loaded is not None:
            return loaded
    built = build_parser()
    if path is not None:
        _keep_parser(built, path)
    return built


_PICKLED_MODULES = ("lark", "re")
"""The modules whose objects the parser's file may name (anything else is not read)."""


def _named_objects() -> dict[int, tuple[str, str]]:
    """lark's module-level instances (not classes or functions), by identity."""
    named: dict[int, tuple[str, str]] = {}
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == "lark" or module_name.startswith("lark.")):
            continue
        for attribute, value in vars(module).items():
            if type(value).__module__.startswith("lark.") and not isinstance(value, type):
                named.setdefault(id(value), (module_name, attribute))
    return named


def _named(module_name: str, attribute: str | None = None) -> Any:
    """A module (or one of its objects) named in the parser's file, if it is lark's or re."""
    if module_name.split(".")[0] not in _PICKLED_MODULES:
        raise pickle.UnpicklingError(f"the parser's file names {module_name}")
    module = importlib.import_module(module_name)
    return module if attribute is None else getattr(module, attribute)


_Code = tuple[int, bytes, int, dict[str, int]]
"""A pattern compiled: its flags, its code (32-bit words), its groups, their names."""


class KeptPatterns:
    """The ``re`` module as lark's lexers use it (``compile``, ``match``, ``error``), with
    their patterns' compiled code kept, so a process reading the parser back compiles none.

    Why: lark builds the lexer of each parser state the first time a text reaches that
    state, and Python's ``re`` parses and compiles its alternation of the state's
    terminals in Python, about 2 ms each: a query of a few lines reaches some tens of the
    parser's two hundred states (0.1 s of a ``karabakh-kg query``), and reaching them all
    takes 0.4 s. The code that ``re``'s compiler hands to its C engine is kept here, per
    pattern and flags, as the parser's file is written, and handed to that engine again
    (``_sre.compile``, what ``re`` itself calls) when lark asks for the pattern: some
    microseconds. The file is written for one Python version (its name holds it), whose
    compiler made the code, and the engine checks the code it is given; a pattern not
    kept, or a code it refuses, is compiled by ``re`` as usual.
    """

    error = re.error

    def __init__(self, codes: dict[tuple[str, int], _Code]):
        self.codes = codes
        """The compiled form of each pattern, per (pattern, flags)."""
        self._compiled: dict[tuple[str, int], re.Pattern[str]] = {}

    @staticmethod
    def record(pattern: str, flags: int) -> _Code | None:
        """The compiled form of ``pattern`` with ``flags`` (None where it cannot be kept)."""
        from re import _compiler, _parser  # type: ignore[attr-defined]

        words = array.array("I")
        if not isinstance(pattern, str) or words.itemsize != 4:
            return None
        parsed = _parser.parse(pattern, flags)
        words.extend(int(word) for word in _compiler._code(parsed, flags))
        state = parsed.state
        return flags | state.flags, words.tobytes(), state.groups - 1, dict(state.groupdict)

    def compile(self, pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled = self._compiled.get((pattern, flags))
        if compiled is None:
            compiled = self._compiled[pattern, flags] = self._compile(pattern, flags)
        return compiled

    def _compile(self, pattern: str, flags: int) -> re.Pattern[str]:
        kept = self.codes.get((pattern, flags))
        if kept is not None:
            compiled_flags, code, groups, groupindex = kept
            words = array.array("I")
            words.frombytes(code)
            names: list[str | None] = [None] * (groups + 1)
            for name, index in groupindex.items():
                names[index] = name
            try:
                return _sre.compile(
                    pattern, compiled_flags, words.tolist(), groups, groupindex, tuple(names)
                )
            except Exception:  # refused: compiled as usual
                pass
        return re.compile(pattern, flags)

    def match(self, pattern: str, text: str, flags: int = 0) -> re.Match[str] | None:
        """``re.match`` (lark matches its string terminals with its pattern terminals)."""
        return self.compile(pattern, flags).match(text)


def _kept_patterns(
    codes: dict[tuple[str, int], _Code],
) -> KeptPatterns:
    return KeptPatterns(codes)


def _lexer_patterns(pickled: bytes) -> dict[tuple[str, int], _Code]:
    """The compiled code of every pattern of the lexers of the parser ``pickled``: each
    parser state's lexer built on a copy read back from it (so the parser kept has none)."""
    copy = _read_parser_bytes(pickled)
    codes: dict[tuple[str, int], _Code] = {}

    class Recording:
        error = re.error

        def compile(self, pattern: str, flags: int = 0) -> re.Pattern[str]:
            if (pattern, flags) not in codes:
                kept = KeptPatterns.record(pattern, flags)
                if kept is not None:
                    codes[pattern, flags] = kept
            return re.compile(pattern, flags)

        def match(self, pattern: str, text: str, flags: int = 0) -> re.Match[str] | None:
            return self.compile(pattern, flags).match(text)

    contextual = getattr(copy.parser, "lexer", None) if copy is not None else None
    lexers = list(getattr(contextual, "lexers", {}).values())
    lexers.append(getattr(contextual, "root_lexer", None))
    recording = Recording()
    for lexer in {id(lexer): lexer for lexer in lexers if hasattr(type(lexer), "scanner")}.values():
        lexer.re = recording
        lexer.scanner  # noqa: B018  (built: its patterns compiled, and recorded)
    return codes


class _ParserPickler(pickle.Pickler):
    def __init__(
        self,
        file: io.BytesIO,
        built: Lark,
        patterns: dict[tuple[str, int], _Code] | None = None,
    ) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._callbacks = built._callbacks
        self._named = _named_objects()
        self._patterns = patterns

    def persistent_id(self, obj: Any) -> str | None:
        return "callbacks" if obj is self._callbacks else None

    def reducer_override(self, obj: Any) -> Any:
        # Named, and so restored once each (pickle remembers what a reduction made).
        if obj is re and self._patterns is not None:  # the lexers' module: with their code
            return _kept_patterns, (self._patterns,)
        if isinstance(obj, types.ModuleType):
            return _named, (obj.__name__,)
        if id(obj) in self._named:
            return _named, self._named[id(obj)]
        return NotImplemented


class _ParserUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, callbacks: dict[str, Any]) -> None:
        super().__init__(file)
        self._callbacks = callbacks

    def persistent_load(self, pid: Any) -> Any:
        if pid != "callbacks":
            raise pickle.UnpicklingError(f"unknown reference {pid!r}")
        return self._callbacks

    def find_class(self, module: str, name: str) -> Any:
        if module.split(".")[0] not in (*_PICKLED_MODULES, "karabakh_kg", "builtins", "functools"):
            raise pickle.UnpicklingError(f"the parser's file names {module}.{name}")
        return super().find_class(module, name)


def _keep_parser(built: Lark, path: Path) -> None:
    from karabakh_kg.graph import write_atomic

    buffer = io.BytesIO()
    try:
        _ParserPickler(buffer, built).dump(built)
        patterns = _lexer_patterns(buffer.getvalue())
        buffer = io.BytesIO()
        _ParserPickler(buffer, built, patterns).dump(built)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, buffer.getvalue())
    except (OSError, pickle.PicklingError, TypeError, AttributeError, re.error):
        pass  # not kept: the next process builds it again


def _read_parser(path: Path) -> Lark | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return _read_parser_bytes(data)


def _read_parser_bytes(data: bytes) -> Lark | None:
    callbacks: dict[str, Any] = {}
    try:
        loaded = _ParserUnpickler(io.BytesIO(data), callbacks).load()
        if not isinstance(loaded, Lark):
            return None
        loaded._prepare_callbacks()  # closures: made again, into the dict the parser holds
    except Exception:  # a damaged or foreign file: built again
        return None
    callbacks.update(loaded._callbacks)
    loaded._callbacks = callbacks
    return loaded


_WARM_UP = (
    "PREFIX p: <http://p/> SELECT DISTINCT ?a (COUNT(?b) AS ?n) FROM <http://g/> WHERE {"
    " ?a p:x/p:y* ?b ; a p:C . OPTIONAL { ?b p:l ?l FILTER(LANG(?l) = 'en' && ?a != ?b) }"
    ' VALUES ?c { p:v 1 } BIND(STR(?a) AS ?s) { ?a ?p "o"@en } UNION { ?a ?p 1.5 }'
    " MINUS { ?a p:z [] } FILTER NOT EXISTS { ?a p:w ?x } SERVICE SILENT <http://s/> { } }"
    " GROUP BY ?a HAVING (COUNT(?b) > 1) ORDER BY DESC(?n) ?a LIMIT 10 OFFSET 1",
    "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }",
    "ASK { ?s ?p ?o }",
    "DESCRIBE <http://d/>",
    "INSERT DATA { <http://s/> <http://p/> 'o' } ; DELETE WHERE { ?s ?p ?o } ;"
    " WITH <http://g/> DELETE { ?s ?p ?o } INSERT { ?s ?p 2 } WHERE { ?s ?p ?o }",
)


def warm_up() -> None:
    """Build the parser and read texts of each kind: lark compiles the lexer of each parser
    state the first time the state is reached (about a tenth of a second in all), and the
    first requests should not wait for it."""
    for text in _WARM_UP:
        inspect(text)


_OPENING = re.compile(r"[({\[]|<<")


def inspect(text: str) -> Inspection:
    """Read SPARQL query or update text (see the module documentation)."""
    lark = parser()
    reading = _current.reading = _Reading()
    try:
        lark.parse(text)
    except LarkError as error:
        position = _error_position(error, text)
        rest = len(_OPENING.findall(text, position))
        return Inspection(
            form=reading.form,
            has_dataset_clause=reading.has_from and reading.form != "UPDATE",
            depth=max(reading.depth, reading.open + rest),
            error=_describe(error, text),
        )
    finally:
        _current.reading = None
    return Inspection(
        form=reading.form,
        has_dataset_clause=bool(reading.from_default or reading.from_named),
        depth=reading.depth,
        services=tuple(reading.services),
        loads=tuple(reading.loads),
        from_default=tuple(reading.from_default),
        from_named=tuple(reading.from_named),
    )


def _error_position(error: LarkError, text: str) -> int:
    """Where the parse stopped (0 when not known: the bound then counts the whole text)."""
    if isinstance(error, UnexpectedEOF):
        return len(text)
    if isinstance(error, UnexpectedToken):
        return error.token.start_pos or 0
    if isinstance(error, UnexpectedCharacters):
        return error.pos_in_stream or 0
    if isinstance(error, NotAName):
        return error.token.start_pos or 0
    return 0


_TERMINAL_NAMES = {
    "IRIREF": "an IRI",
    "PNAME": "a prefixed name",
    "PNAME_NS": "a prefix",
    "VAR1": "a variable",
    "VAR2": "a variable",
    "STRING": "a string",
    "NUMBER": "a number",
    "SIGNED_NUMBER": "a number",
    "INTEGER": "an integer",
    "LANGTAG": "a language tag",
    "BLANK_NODE_LABEL": "a blank node",
    "COMPARISON": "a comparison",
    "LOGICAL": "'&&' or '||'",
    "ARITHMETIC": "an operator",
    "ONE_ARGUMENT": "a function",
    "TWO_ARGUMENTS": "a function",
    "NO_ARGUMENT": "a function",
    "AGGREGATE": "an aggregate",
    "NIL": "'()'",
    "ANON": "'[]'",
    "$END": "the end of the text",
}


def _describe(error: LarkError, text: str) -> str:
    """One line naming where the text stops following the grammar and what may stand there."""
    if isinstance(error, UnexpectedToken) and error.token.type == "$END":
        error = UnexpectedEOF(error.expected)
    if isinstance(error, NotAName):
        token = error.token
        return f"not SPARQL 1.1 at line {token.line}, column {token.column}: {error}"
    if isinstance(error, UnexpectedEOF):
        where, found = "at the end of the text", ""
    elif isinstance(error, UnexpectedInput):
        where = f"at line {error.line}, column {error.column}"
        found = f" {_shown(error, text)}"
    else:
        return " ".join(str(error).split())[:300]
    expected = sorted({_terminal(name) for name in _expected(error)})
    listed = ", ".join(expected[:12]) + (", …" if len(expected) > 12 else "")
    return f"not SPARQL 1.1 {where}:{found} unexpected here" + (
        f"; expected {listed}" if listed else ""
    )


def _shown(error: UnexpectedInput, text: str) -> str:
    if isinstance(error, UnexpectedToken):
        shown = str(error.token)
    else:
        position = error.pos_in_stream or 0
        shown = text[position : position + 1]
    return repr(shown[:40])


def _expected(error: LarkError) -> set[str]:
    if isinstance(error, UnexpectedToken | UnexpectedEOF):
        return set(error.expected)
    if isinstance(error, UnexpectedCharacters):
        return set(error.allowed or ())
    return set()


def _terminal(name: str) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    try:
        pattern = parser().get_terminal(name).pattern
    except KeyError:
        return name
    if pattern.type == "str":
        return repr(pattern.value.upper() if pattern.flags else pattern.value)
    return name


# -- INSERT DATA / DELETE DATA ---------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
  | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
              | '''(?:[^'\\]|\\.|'(?!''))*'''
              | "(?:[^"\\\r\n]|\\.)*"
              | '(?:[^'\\\r\n]|\\.)*')
  | (?P<var>[?$][^\W][\w\u00b7\u0300-\u036f\u203f-\u2040]*)
  | (?P<pname>(?:[^\W\d_][\w.\-]*)?:(?:[\w\-:%]|\\.|\.(?=[\w\-:%]))*)
  | (?P<word>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
"""The tokens of data blocks, for :func:`data_as_insert` (which holds no expression, so
``<`` always opens an IRI there; any other token makes it answer None)."""
_DATA_WORDS = frozenset({"PREFIX", "BASE", "INSERT", "DELETE", "DATA"})


def data_as_insert(text: str) -> str | None:
    """For an update made only of ``INSERT DATA`` and ``DELETE DATA`` operations without
    blank nodes or ``GRAPH``: the same text with every ``DELETE DATA`` written ``INSERT
    DATA``, which, run on an empty store, lists every triple the update names (the only
    triples such an update can change). None for any other update, and for a text with
    ``(``, ``[``, ``<<`` or a brace inside a data block, so that a text it answers for nests
    one deep at most."""
    pieces: list[str] = []
    level = 0
    last = ""  # the previous significant word outside the data blocks
    done = 0
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        token = match.group()
        if kind in {"ws", "comment"}:
            continue
        if kind == "var":
            return None
        if kind == "other":
            if token in "[(<":
                return None  # blank nodes, collections, triple terms
            if token == "{":
                if last != "DATA" or level:
                    return None
                level += 1
            elif token == "}":
                level -= 1
                if level < 0:
                    return None
            continue
        if kind == "word":
            upper = token.upper()
            if upper in {"GRAPH", "_"}:
                return None
            if level == 0:
                if upper not in _DATA_WORDS:
                    return None
                if last in {"INSERT", "DELETE"} and upper != "DATA":
                    return None
                if upper == "DELETE":
                    pieces.append(text[done : match.start()] + "INSERT")
                    done = match.end()
                last = upper
        elif kind == "pname" and token.startswith("_:"):
            return None
    if last in {"INSERT", "DELETE"}:
        return None
    return "".join(pieces) + text[done:]
