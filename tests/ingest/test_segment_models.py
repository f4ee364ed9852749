"""Segment-spec messages: Segment's rules, normalisation, and problems named per message."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from growthloop.ingest._segment import (
    MESSAGE_TYPES,
    AliasMessage,
    IdentifyMessage,
    MessageProblem,
    PayloadError,
    SegmentBatch,
    TrackMessage,
    parse_batch,
    parse_message,
)

RECEIVED = datetime(2024, 5, 1, 12, 0, 0)


def one(body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Parse one batch message and return its normalised JSON payload."""
    parsed = parse_batch({"batch": [body], **kwargs}, received_at=RECEIVED)
    assert parsed.problems == []
    payload: dict[str, Any] = orjson.loads(parsed.messages[0].model_dump_json(exclude_unset=True))
    return payload


def problems(*messages: Any) -> list[MessageProblem]:
    return parse_batch({"batch": list(messages)}, received_at=RECEIVED).problems


def test_track_is_normalised() -> None:
    payload = one({"type": "track", "messageId": "m1", "userId": 42, "event": "Order Completed",
                   "timestamp": "2024-05-01T13:30:00+02:00", "properties": {"total": 9.5}})
    assert payload == {
        "type": "track",
        "messageId": "m1",
        "userId": "42",  # a number sent as an id becomes a string
        "event": "Order Completed",
        "properties": {"total": 9.5},
        "timestamp": "2024-05-01T11:30:00",
        "originalTimestamp": "2024-05-01T11:30:00",
        "receivedAt": "2024-05-01T12:00:00",
    }


def test_timestamps_without_offset_are_utc() -> None:
    payload = one({"type": "page", "anonymousId": "a", "timestamp": "2024-05-01T08:00:00"})
    assert payload["timestamp"] == "2024-05-01T08:00:00"


def test_clock_skew_is_corrected_with_sent_at() -> None:
    # The device's clock runs 1 hour ahead: sentAt says 13:00 when the server says 12:00.
    payload = one({"type": "track", "anonymousId": "a", "event": "E",
                   "originalTimestamp": "2024-05-01T12:58:00Z",
                   "sentAt": "2024-05-01T13:00:00Z"})
    assert payload["timestamp"] == "2024-05-01T11:58:00"
    assert payload["originalTimestamp"] == "2024-05-01T12:58:00"
    # The batch's sentAt applies to messages without their own.
    payload = one({"type": "track", "anonymousId": "a", "event": "E",
                   "timestamp": "2024-05-01T12:58:00Z"}, sentAt="2024-05-01T13:00:00Z")
    assert payload["timestamp"] == "2024-05-01T11:58:00"
    assert payload["sentAt"] == "2024-05-01T13:00:00"


def test_server_sets_received_at() -> None:
    payload = one({"type": "track", "anonymousId": "a", "event": "E",
                   "receivedAt": "2020-01-01T00:00:00Z"})
    assert payload["receivedAt"] == "2024-05-01T12:00:00"
    assert payload["timestamp"] == "2024-05-01T12:00:00"


def test_missing_message_id_gets_a_random_uuid4() -> None:
    first, second = (one({"type": "identify", "userId": "u"})["messageId"] for _ in range(2))
    assert uuid.UUID(first).version == 4
    assert first != second
    assert one({"type": "identify", "userId": "u", "messageId": ""})["messageId"] != ""


def test_unknown_fields_are_kept_and_write_key_is_dropped() -> None:
    payload = one({"type": "track", "anonymousId": "a", "event": "E", "writeKey": "secret",
                   "rudderId": "r-1", "channel": "web", "_metadata": {"bundled": ["x"]},
                   "properties": {"nested": {"none": None}}})
    assert payload["rudderId"] == "r-1"
    assert payload["channel"] == "web"
    assert payload["_metadata"] == {"bundled": ["x"]}
    assert payload["properties"] == {"nested": {"none": None}}
    assert "writeKey" not in payload


def test_batch_context_and_integrations_are_merged() -> None:
    payload = one({"type": "track", "anonymousId": "a", "event": "E",
                   "context": {"ip": "10.0.0.1"}, "integrations": {"Mixpanel": False}},
                  context={"ip": "192.0.2.1", "locale": "de-DE"}, integrations={"All": True})
    assert payload["context"] == {"ip": "10.0.0.1", "locale": "de-DE"}
    assert payload["integrations"] == {"All": True, "Mixpanel": False}


def test_every_type_parses_to_its_model() -> None:
    batch = [
        {"type": "identify", "userId": "u", "traits": {"email": "a@b.c"}},
        {"type": "track", "userId": "u", "event": "E"},
        {"type": "page", "userId": "u", "name": "Home", "category": "Docs"},
        {"type": "screen", "userId": "u", "name": "Cart"},
        {"type": "group", "userId": "u", "groupId": 7, "traits": {"name": "Acme"}},
        {"type": "alias", "previousId": "anon", "userId": "u"},
    ]
    parsed = parse_batch({"batch": batch}, received_at=RECEIVED)
    assert [m.type for m in parsed.messages] == list(MESSAGE_TYPES)
    assert isinstance(parsed.messages[0], IdentifyMessage)
    assert isinstance(parsed.messages[1], TrackMessage)
    alias = parsed.messages[5]
    assert isinstance(alias, AliasMessage)
    assert (alias.previous_id, alias.user_id) == ("anon", "u")
    group = parsed.messages[4]
    assert group.model_dump(exclude_unset=True)["groupId"] == "7"


@pytest.mark.parametrize(
    ("message", "field", "text"),
    [
        ({"type": "track", "userId": "u"}, "event", "track message needs 'event'"),
        ({"type": "track", "event": "E"}, "userId",
         "track message needs 'userId' or 'anonymousId'"),
        ({"type": "page", "userId": None, "anonymousId": ""}, "userId",
         "page message needs 'userId' or 'anonymousId'"),
        ({"type": "group", "anonymousId": "a"}, "groupId", "group message needs 'groupId'"),
        ({"type": "alias", "userId": "u"}, "previousId", "alias message needs 'previousId'"),
        ({"type": "alias", "previousId": "p", "anonymousId": "a"}, "userId",
         "alias message needs 'userId'"),
        ({"userId": "u"}, "type",
         "message needs 'type', one of identify, track, page, screen, group, alias"),
        ({"type": "Track", "userId": "u"}, "type",
         "unknown type 'Track'; use one of identify, track, page, screen, group, alias"),
        ({"type": "identify", "userId": "u", "traits": "vip"}, "traits",
         "'traits' must be a JSON object, got \"vip\""),
        ({"type": "identify", "userId": "u", "timestamp": "2024-13-01"}, "timestamp",
         "'timestamp' must be an ISO-8601 date-time such as 2024-05-01T12:00:00Z, "
         "got \"2024-13-01\""),
        ({"type": "identify", "userId": "u", "messageId": "x" * 201}, "messageId",
         "'messageId': string should have at most 200 characters, got "
         f"\"{'x' * 56}..."),
        ({"type": "track", "userId": ["u"], "event": "E"}, "userId",
         "'userId': input should be a valid string, got [\"u\"]"),
        (17, None, "message must be a JSON object, got 17"),
    ],
)
def test_each_rule_is_named(message: Any, field: str | None, text: str) -> None:
    assert problems(message) == [MessageProblem(index=0, field=field, message=text)]


def test_problems_keep_batch_positions_and_the_rest_is_accepted() -> None:
    parsed = parse_batch({"batch": [
        {"type": "track", "userId": "u", "event": "ok"},
        {"type": "track", "userId": "u"},
        {"type": "identify", "anonymousId": "a"},
        {"type": "alias"},
    ]}, received_at=RECEIVED)
    assert [m.type for m in parsed.messages] == ["track", "identify"]
    assert [(p.index, p.field) for p in parsed.problems] == [
        (1, "event"), (3, "userId"), (3, "previousId")]


def test_oversized_messages_are_reported() -> None:
    big = {"type": "track", "userId": "u", "event": "E", "properties": {"t": "x" * 500}}
    size = len(orjson.dumps(big))
    parsed = parse_batch({"batch": [{"type": "track", "userId": "u", "event": "E"}, big]},
                         received_at=RECEIVED, max_message_bytes=300)
    assert len(parsed.messages) == 1
    assert parsed.problems == [MessageProblem(
        index=1, field=None, message=f"message is {size} bytes; the limit is 300 bytes per "
        "message", too_large=True)]


def test_whole_batch_errors() -> None:
    with pytest.raises(PayloadError, match="a batch request needs 'batch'"):
        parse_batch({}, received_at=RECEIVED)
    with pytest.raises(PayloadError, match="'batch' must be a list of messages, got \"x\""):
        parse_batch({"batch": "x"}, received_at=RECEIVED)
    with pytest.raises(PayloadError) as raised:
        parse_batch({"batch": [], "context": []}, received_at=RECEIVED)
    assert raised.value.problems == [MessageProblem(
        index=None, field="context", message="'context' must be a JSON object, got []")]


def test_single_message_takes_its_type_from_the_endpoint() -> None:
    parsed = parse_message({"type": "identify", "userId": "u", "event": "E"},
                           message_type="track", received_at=RECEIVED)
    assert [m.type for m in parsed.messages] == ["track"]
    parsed = parse_message({"anonymousId": "a"}, message_type="track", received_at=RECEIVED)
    assert parsed.problems == [MessageProblem(0, "event", "track message needs 'event'")]


def test_out_of_range_timestamps_are_problems_not_crashes() -> None:
    assert problems({"type": "track", "userId": "u", "event": "E",
                     "timestamp": "0001-01-01T00:00:00+01:00"})[0].field == "timestamp"
    parsed = parse_batch({"batch": [{"type": "track", "userId": "u", "event": "E",
                                     "originalTimestamp": "0001-01-01T00:00:00Z",
                                     "sentAt": "9999-12-31T00:00:00Z"}]}, received_at=RECEIVED)
    assert parsed.messages[0].timestamp == datetime(1, 1, 1)


def test_batch_model_documents_the_request() -> None:
    schema = SegmentBatch.model_json_schema(by_alias=True)
    assert schema["required"] == ["batch"]
    assert set(schema["properties"]) >= {"batch", "context", "sentAt", "writeKey"}
    assert schema["$defs"]["TrackMessage"]["required"] == ["event"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=10,
)
optional_fields = {
    "userId": st.text(max_size=5) | json_values,
    "previousId": st.text(max_size=5),
    "event": st.text(max_size=5) | json_values,
    "groupId": st.text(max_size=5),
    "messageId": st.text(max_size=5),
    "timestamp": st.datetimes().map(lambda d: d.isoformat() + "Z") | json_values,
    "sentAt": st.datetimes().map(datetime.isoformat),
    "properties": json_values,
    "context": json_values,
}
plausible = st.fixed_dictionaries(  # mostly valid messages
    {"type": st.sampled_from(MESSAGE_TYPES), "anonymousId": st.text(min_size=1, max_size=5),
     "userId": st.text(min_size=1, max_size=5), "event": st.text(min_size=1, max_size=5),
     "groupId": st.text(min_size=1, max_size=5), "previousId": st.text(min_size=1, max_size=5)},
    optional={"timestamp": optional_fields["timestamp"], "context": json_values,
              "messageId": st.text(max_size=5)},
)
fuzzed = st.fixed_dictionaries(
    {},
    optional={"type": st.sampled_from([*MESSAGE_TYPES, "other"]) | json_values,
              "anonymousId": st.text(max_size=5), **optional_fields},
)
message_like = plausible | fuzzed | json_values


@settings(max_examples=300, deadline=None)
@given(st.lists(message_like, max_size=6))
def test_any_json_is_accepted_or_reported_per_message(batch: list[Any]) -> None:
    parsed = parse_batch({"batch": batch}, received_at=RECEIVED, max_message_bytes=10_000)
    reported = {p.index for p in parsed.problems}
    assert len(parsed.messages) + len(reported) == len(batch)
    for message in parsed.messages:
        assert message.payload() == message.model_dump_json(exclude_unset=True).encode()
        payload = orjson.loads(message.payload())
        assert payload["messageId"]
        assert payload["receivedAt"] == "2024-05-01T12:00:00"
        assert payload.get("userId") or payload.get("anonymousId")
        datetime.fromisoformat(payload["timestamp"])
    assert all(p.message and p.index is not None for p in parsed.problems)


def test_skew_correction_is_exact() -> None:
    sent = RECEIVED + timedelta(hours=3, seconds=7)
    original = sent - timedelta(minutes=10)
    payload = one({"type": "track", "anonymousId": "a", "event": "E",
                   "originalTimestamp": original.isoformat(), "sentAt": sent.isoformat()})
    assert payload["timestamp"] == (RECEIVED - timedelta(minutes=10)).isoformat()
