"""The strict parse: a repeated key in any object is refused, whatever the text's spelling, and nothing else is.

``asl.loads`` first parses at C speed and proves the text free of repeated keys by counting (``_parse_unique``);
these cases are written against that proof: keys inside strings, escaped quotes, two spellings of one key,
white space before the colon, repeats hidden in a value that a repeat then drops, empty objects.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfn_iam.engine import asl
from sfn_iam.engine.asl import DefinitionError, loads


class _Repeat(Exception):
    pass


def _reference(text: str) -> Any:
    """What a strict parse must answer: the value, or the first repeated key (``_Repeat``)."""
    def pairs(found: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: set[str] = set()
        for key, _ in found:
            if key in seen:
                raise _Repeat(key)
            seen.add(key)
        return dict(found)
    return json.loads(text, object_pairs_hook=pairs)


@pytest.mark.parametrize(("text", "key"), [
    ('{"a": 1, "a": 2}', "a"),
    ('{"a": 1, "\\u0061": 2}', "a"),  # two spellings, one key
    ('{"\\u00e9": 1, "\u00e9": 2}', "\u00e9"),
    ('{"\\"": 1, "\\u0022": 2}', '"'),
    ('{"a\\":b": 1, "a\\":b": 2}', 'a":b'),  # the key itself holds a quote and a colon
    ('{"": 1, "": 2}', ""),
    ('{"\\ud800": 1, "\\ud800": 2}', "\ud800"),  # a lone surrogate
    ('{"a" :1, "a"\n:\t2}', "a"),  # white space before the colon
    ('{"a" : 1, "a" : 2, "s": "\\":"}', "a"),  # ... next to a string holding '":' (as many as the keys)
    ('{"x": {"k": 1, "k": 2}}', "k"),  # nested
    ('[{}, {"k": [1, {"k": 1, "k": {}}]}]', "k"),
    ('{"a": {"k": 1, "k": 2}, "a": 3}', "k"),  # the inner repeat, in a value the outer repeat drops
    ('{"s": "\\":", "a": 1, "a": 2}', "a"),  # a string holding '":' next to a repeat
    ('{"s": "{\\"a\\": 1}", "b": {}, "b": {}}', "b"),
    ('{"x": 1, "x": 2, "y\\\\": 3}', "x"),  # a key ending in a backslash: its quote follows one
    ('{"x": 1, "x": 2, "s": "\\\\", "t": "\\":"}', "x"),  # an escaped backslash and an escaped quote
])
def test_a_repeated_key_is_refused_and_named(text: str, key: str) -> None:
    with pytest.raises(_Repeat) as expected:
        _reference(text)
    assert expected.value.args == (key,)
    with pytest.raises(DefinitionError, match="repeats the key") as raised:
        loads(text)
    assert f"repeats the key {key!r} in one object" in str(raised.value)


@pytest.mark.parametrize("text", [
    '{"a": "{\\"a\\": 1, \\"a\\": 2}"}',  # a repeat inside a string is text, not a key
    '{"a": "\\":", "b": ["\\" :", "\\"\\n:"]}',  # '":' inside strings: the count cannot prove it, the hook does
    '{"a": 1, "A": 2, "a ": 3, "\\u0061b": 4, "ab\\u0020": 5}',  # close spellings of different keys
    '{}', '[{}, {}, {"": {}}]', '{"a": {}, "b": {"a": {}}}',  # empty objects; one key in two objects
    '{\n  "a" : 1,\r\n\t"b"\t:\n2 }',  # white space around colons
    '{"\\u003a": ":", "b:": "\\u003a"}',  # a colon spelled as an escape, as a key and a value
    '"just a string"', '[1, 2.5, true, null]',
])
def test_a_text_without_repeats_parses_as_json_does(text: str) -> None:
    assert loads(text) == json.loads(text) == _reference(text)


def test_the_counting_proof_accepts_plain_definitions_and_never_a_repeat() -> None:
    plain = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                                                          "Parameters": {"TopicArn": "arn:aws:sns:x", "M.$": "$"},
                                                          "End": True}}}, indent=2)
    assert asl._parse_unique(plain) == json.loads(plain)  # proven: one C-speed parse, no pairs hook
    assert asl._parse_unique('{"a": 1, "a": 2}') is asl._UNPROVEN
    # embedded JSON (a JSONata object constructor): its escaped quotes are not keys, and the count knows it
    jsonata = '{"Arguments": {"Payload": "{% {\\"id\\": $states.input.id, \\"n\\" : 1} %}"}}'
    assert asl._parse_unique(jsonata) == json.loads(jsonata)
    many = json.dumps({f"k{i}": '{% {"id": $x} %}' for i in range(300)})  # more entries than Python caches as ints
    assert asl._parse_unique(many) == json.loads(many)
    escaped = json.dumps({**{f"k{i}": "x" for i in range(300)}, "path": "C:\\dir"})  # an escaped backslash
    assert asl._parse_unique(escaped) == json.loads(escaped)
    # with an escaped backslash, a quote after a backslash may end a key: not proven, though it has no repeat
    unproven = '{"a\\\\": "x", "b": "\\":"}'
    assert asl._parse_unique(unproven) is asl._UNPROVEN
    assert loads(unproven) == {"a\\": "x", "b": '":'}


@pytest.mark.parametrize("space", [" ", "\n", "\t", "\r", "  ", " \n"])
def test_a_repeat_written_with_white_space_before_its_colon_is_refused_whatever_the_white_space(space: str) -> None:
    # The count reads the text as written when no key can end in white space before its colon (no newline, tab or
    # carriage return anywhere, no " :"); here the only white space of the text is the one before the repeat's
    # colon, so the count as written would see one key end less than the members and prove the repeat away.
    text = '{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"End"' + space + ':false}}}'
    with pytest.raises(DefinitionError, match="repeats the key 'End' in one object"):
        loads(text)
    assert asl._parse_unique(text) is asl._UNPROVEN


@pytest.mark.parametrize("text", [
    json.dumps({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::sns:publish",
                                                 "Parameters": {"TopicArn": "arn:aws:sns:x", "M.$": "$"},
                                                 "End": True}}}),
    '{"a":{"b":[1,{"c":"d e"}],"e":"f: g"},"h":"\\":"}',  # compact, spaces inside strings, embedded '":'
    '{"a" :1}', '{"a"\n:1}', '{"a"\t:1}', '{"a"\r:1}', '{"a":\n1}',  # white space the count must delete
])
def test_a_text_without_repeats_is_proven_whether_or_not_white_space_is_deleted(text: str) -> None:
    assert asl._parse_unique(text) == json.loads(text)  # proven: no pairs hook needed
    assert loads(text) == json.loads(text)


def test_a_large_object_without_repeats_passes_the_strict_parse_too() -> None:
    # a string holding '":' beside an escaped backslash leaves the text unproven: the pairs hook decides it
    text = json.dumps({**{f"k{i}": i for i in range(300)}, "s": '":', "b": "\\"})
    assert asl._parse_unique(text) is asl._UNPROVEN
    assert loads(text) == json.loads(text)


def test_bytes_are_parsed_strictly_too() -> None:
    assert loads(b'{"a": {"b": 1}}') == {"a": {"b": 1}}  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="repeats the key 'b'"):
        loads(b'{"a": {"b": 1, "b": 2}}')  # type: ignore[arg-type]


def test_invalid_json_is_reported_as_before() -> None:
    with pytest.raises(DefinitionError, match="not valid JSON"):
        loads('{"a": 1,')
    # a repeat in an object that closed before the syntax error is reported, as the pairs hook always did
    with pytest.raises(DefinitionError, match="repeats the key 'k'"):
        loads('{"x": {"k": 1, "k": 2}, "y": ')


_KEYS = st.sampled_from(["a", "b", "", '"', ":", '":', "\\", '\\"', "\u00e9", "\ud800", " a", "a "])
_SEPARATORS = st.sampled_from([(",", ":"), (", ", ": "), (" ,", " : "), ("\n,", "\n:\t"), (",\r\n", "\r\n:")])
_Obj = tuple  # a JSON object as written: a tuple of (key, value) pairs, repeats allowed


def _values() -> st.SearchStrategy[Any]:
    leaves = st.one_of(st.integers(-3, 3), st.booleans(), st.none(), _KEYS, st.text(max_size=3))
    return st.recursive(leaves, lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.lists(st.tuples(_KEYS, inner), max_size=4).map(_Obj)), max_leaves=12)


def _write(value: Any, sep: tuple[str, str], escape: bool) -> str:
    if isinstance(value, _Obj):
        members = [_string(k, escape) + sep[1] + _write(v, sep, escape) for k, v in value]
        return "{" + sep[0].join(members) + "}"
    if isinstance(value, list):
        return "[" + sep[0].join(_write(v, sep, escape) for v in value) + "]"
    return _string(value, escape) if isinstance(value, str) else json.dumps(value)


def _string(text: str, escape: bool) -> str:
    if not escape:
        return json.dumps(text, ensure_ascii=False)
    spelled = {"a": "\\u0061", ":": "\\u003A"}  # another spelling of the same characters
    return '"' + "".join(spelled.get(c) or json.dumps(c)[1:-1] for c in text) + '"'


@settings(max_examples=400, deadline=None)
@given(_values(), _SEPARATORS, st.booleans())
def test_any_text_is_refused_exactly_when_an_object_repeats_a_key(value: Any, sep: tuple[str, str],
                                                                   escape: bool) -> None:
    text = _write(value, sep, escape)
    try:
        expected = _reference(text)
    except _Repeat as repeat:
        with pytest.raises(DefinitionError, match="repeats the key") as raised:
            loads(text)
        assert f"repeats the key {repeat.args[0]!r}" in str(raised.value)
        return
    assert loads(text) == expected
