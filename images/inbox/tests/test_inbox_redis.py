"""Persistence in a real Redis: captures survive a restart, the list keeps to the cap."""

import redis

from preview_inbox.store import from_record

ACCOUNT = "AC" + "0123456789abcdef" * 2


def test_captures_survive_a_restart(make_client, redis_url, preview_id, twilio_auth, read_events):
    first = make_client(redis_url=redis_url, preview_id=preview_id)
    first.post("/hooks/paid?id=7", content=b'{"order": 7}', headers={"X-Kind": "paid"})
    sid = first.post(
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages.json",
        data={"To": "+15550100", "From": "+15550199", "Body": "Shipped"},
        headers=twilio_auth,
    ).json()["sid"]
    before = read_events(first)

    restarted = make_client(redis_url=redis_url, preview_id=preview_id)

    assert read_events(restarted) == before
    assert [event["kind"] for event in before] == ["sms", "webhook"]
    assert before[0]["sms"]["sid"] == sid
    fetched = restarted.get(
        f"/2010-04-01/Accounts/{ACCOUNT}/Messages/{sid}.json", headers=twilio_auth
    )
    assert fetched.json()["body"] == "Shipped"


def test_sequence_continues_after_a_restart(make_client, redis_url, preview_id, read_events):
    make_client(redis_url=redis_url, preview_id=preview_id).post("/hooks/a")

    restarted = make_client(redis_url=redis_url, preview_id=preview_id)
    restarted.post("/hooks/b")

    assert [event["seq"] for event in read_events(restarted)] == [2, 1]


def test_redis_list_is_trimmed_to_the_cap(make_client, redis_url, preview_id):
    client = make_client(redis_url=redis_url, preview_id=preview_id, cap=2)

    for number in range(4):
        client.post(f"/hooks/{number}")

    stored = redis.Redis.from_url(redis_url).lrange(f"preview-inbox:{preview_id}:captures", 0, -1)
    assert [from_record(record).path for record in stored] == ["/hooks/3", "/hooks/2"]


def test_clear_empties_redis_too(make_client, redis_url, preview_id, read_events):
    client = make_client(redis_url=redis_url, preview_id=preview_id)
    client.post("/hooks/a")

    assert client.delete("/api/events").json() == {"cleared": True, "redis": True}
    assert read_events(make_client(redis_url=redis_url, preview_id=preview_id)) == []


def test_previews_sharing_a_redis_do_not_see_each_other(
    make_client, redis_url, preview_id, read_events
):
    make_client(redis_url=redis_url, preview_id=preview_id).post("/hooks/mine")

    other = make_client(redis_url=redis_url, preview_id=f"{preview_id}-other")

    assert read_events(other) == []


def test_capture_goes_on_when_redis_is_down(make_client, read_events):
    # Port 1 on loopback: nothing listens there, so every connection is refused at once.
    client = make_client(redis_url="redis://127.0.0.1:1/0", preview_id="no-redis")

    response = client.post("/hooks/a", content=b"kept in memory")

    assert response.status_code == 200
    assert [event["body"] for event in read_events(client)] == ["kept in memory"]
    assert client.get("/healthz").json()["redis"] == "error"
