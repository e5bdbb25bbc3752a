"""The OData query options the lab understands: a small $filter language, $select, $expand, $top and
opaque $skiptoken paging. Each collection states which options and which filter forms Graph allows on
it; anything else is refused with 400 as Graph does."""

import base64
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from .errors import bad_request


@dataclass(frozen=True)
class QuerySupport:
    """What Graph supports on one collection. filter maps a property to the operators allowed on it:
    'eq', 'ne', 'in', 'startswith', 'contains', 'any' (lambda over a string collection)."""
    filter: dict = field(default_factory=dict)
    select: bool = True
    expand: tuple = ()
    top: bool = True
    max_top: int = 999


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<punct>[(),:/])"
                    r"|(?P<word>[A-Za-z_@.$][\w@.$-]*))")


def _tokenize(text):
    tokens, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise bad_request(f"Invalid filter clause: syntax error at position {pos} in '{text}'.")
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "str":
            value = value[1:-1].replace("''", "'")
        elif kind == "num":
            value = float(value) if "." in value else int(value)
        tokens.append((kind, value))
        pos = match.end()
    return tokens


class _FilterParser:
    def __init__(self, text, allowed, error):
        self.tokens = _tokenize(text)
        self.pos = 0
        self.allowed = allowed
        self.error = error

    def peek(self, offset=0):
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else (None, None)

    def take(self, kind=None, value=None):
        token = self.peek()
        if token[0] is None or (kind and token[0] != kind) or (value is not None and token[1] != value):
            raise self.error(f"Invalid filter clause: expected {value or kind} at token {self.pos + 1}.")
        self.pos += 1
        return token[1]

    def parse(self):
        predicate = self.parse_or()
        if self.pos != len(self.tokens):
            raise self.error(f"Invalid filter clause: unexpected '{self.peek()[1]}'.")
        return predicate

    def parse_or(self):
        left = self.parse_and()
        while self.peek() == ("word", "or"):
            self.take()
            right = self.parse_and()
            left = (lambda a, b: lambda o: a(o) or b(o))(left, right)
        return left

    def parse_and(self):
        left = self.parse_term()
        while self.peek() == ("word", "and"):
            self.take()
            right = self.parse_term()
            left = (lambda a, b: lambda o: a(o) and b(o))(left, right)
        return left

    def check(self, prop, op):
        if op not in self.allowed.get(prop, ()):
            raise self.error(f"Unsupported or invalid query filter clause specified for property '{prop}' "
                             f"of resource: operator '{op}' is not supported.")

    def literal(self):
        kind, value = self.peek()
        if kind in ("str", "num"):
            self.take()
            return value
        if kind == "word" and value in ("true", "false", "null"):
            self.take()
            return {"true": True, "false": False, "null": None}[value]
        raise self.error(f"Invalid filter clause: expected a literal, found '{value}'.")

    def parse_term(self):
        kind, value = self.peek()
        if kind == "punct" and value == "(":
            self.take()
            inner = self.parse_or()
            self.take("punct", ")")
            return inner
        if kind == "word" and value == "not":
            self.take()
            inner = self.parse_term()
            return lambda o: not inner(o)
        if kind == "word" and self.peek(1) == ("punct", "(") and value in ("startswith", "contains"):
            self.take()
            self.take("punct", "(")
            prop = self.take("word")
            self.take("punct", ",")
            needle = self.literal()
            self.take("punct", ")")
            self.check(prop, value)
            if not isinstance(needle, str):
                raise self.error(f"Invalid filter clause: {value} needs a string literal.")
            needle = needle.lower()
            if value == "startswith":
                return lambda o: isinstance(o.get(prop), str) and o[prop].lower().startswith(needle)
            return lambda o: isinstance(o.get(prop), str) and needle in o[prop].lower()
        prop = self.take("word")
        if self.peek() == ("punct", "/"):
            return self.parse_any(prop)
        op = self.take("word")
        if op == "in":
            self.check(prop, "in")
            self.take("punct", "(")
            values = [self.literal()]
            while self.peek() == ("punct", ","):
                self.take()
                values.append(self.literal())
            self.take("punct", ")")
            folded = {_fold(v) for v in values}
            return lambda o: _fold(o.get(prop)) in folded
        if op not in ("eq", "ne"):
            raise self.error(f"Invalid filter clause: operator '{op}' is not supported.")
        self.check(prop, op)
        expected = _fold(self.literal())
        if op == "eq" and isinstance(expected, str):
            # The common look-up by name, spelt out: it runs once per object of the collection.
            return lambda o: isinstance(value := o.get(prop), str) and value.lower() == expected
        if op == "eq":
            return lambda o: _fold(o.get(prop)) == expected
        return lambda o: _fold(o.get(prop)) != expected

    def parse_any(self, prop):
        # groupTypes/any(c:c eq 'DynamicMembership')
        self.take("punct", "/")
        self.take("word", "any")
        self.take("punct", "(")
        var = self.take("word")
        self.take("punct", ":")
        if self.take("word") != var:
            raise self.error("Invalid filter clause: lambda variable mismatch.")
        self.take("word", "eq")
        expected = _fold(self.literal())
        self.take("punct", ")")
        self.check(prop, "any")
        return lambda o: any(_fold(item) == expected for item in (o.get(prop) or []))


def _fold(value):
    # Directory string comparisons are case-insensitive.
    return value.lower() if isinstance(value, str) else value


def parse_filter(text, allowed, error=bad_request):
    return _FilterParser(text, allowed, error).parse()


def parse_query(raw_query):
    """Split the raw query string; a repeated system option is refused like Graph does."""
    params = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        if key in params and key.startswith("$"):
            raise bad_request(f"Query option '{key}' was specified more than once, but it must be specified "
                              "at most once.")
        params[key] = value
    return params


def encode_skiptoken(offset):
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def decode_skiptoken(token):
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = data["o"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError
        return offset
    except (ValueError, KeyError, TypeError):
        raise bad_request("The $skiptoken is invalid or has expired.") from None


def next_link(base_url, path, params, offset):
    query = {k: v for k, v in params.items() if k != "$skiptoken"}
    query["$skiptoken"] = encode_skiptoken(offset)
    return f"{base_url}{path}?{urlencode(query, safe='$,()\':')}"
