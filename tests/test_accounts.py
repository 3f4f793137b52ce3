"""Team accounts (issue 34): a person is invited by name, chooses their own secret, signs in as
themselves; sign-in cookies are signed and end on sign-out; wrong secrets are slowed per person and
per browser session, never for the whole server, and a stranger never keeps a member out of a
browser they signed in on before. On SQLite and PostgreSQL alike."""

from __future__ import annotations

import hmac
import pytest
from helpers_labelling import engine, tone  # noqa: F401 (fixture)

from emotionet.team import accounts as acc
from emotionet.team import labelling as lab
from emotionet.team import predictions as answers
from emotionet.team.storage import AudioStore

SECRET = "a long blue whale"


def join(engine, name: str, role: str | None = None, secret: str = SECRET) -> acc.Member:
    _, token = acc.invite(engine, name, role)
    return acc.accept_invite(engine, token, secret, secret)


def test_an_invited_person_chooses_a_secret_and_signs_in_as_themselves(engine):
    member, token = acc.invite(engine, "Ana", acc.COORDINATOR)
    assert acc.invited(engine, token) == member and member.coordinator
    assert acc.invite_link("http://team.example:8501/", token) == f"http://team.example:8501/label?invite={token}"
    with pytest.raises(acc.AccountError, match="at least 8"):
        acc.accept_invite(engine, token, "short", "short")
    with pytest.raises(acc.AccountError, match="differ"):
        acc.accept_invite(engine, token, SECRET, SECRET + "!")
    assert acc.accept_invite(engine, token, SECRET, SECRET) == member
    assert acc.invited(engine, token) is None  # one time only
    with pytest.raises(acc.AccountError, match="used, expired"):
        acc.accept_invite(engine, token, SECRET, SECRET)
    assert acc.check_secret(engine, "Ana", SECRET) == member
    assert acc.check_secret(engine, "  ana ", SECRET) == member  # the name as people type it
    assert acc.check_secret(engine, "Ana", SECRET.upper()) is None
    assert acc.check_secret(engine, "Nobody", SECRET) is None
    assert acc.has_coordinator(engine)
    stored = acc.list_accounts(engine)[0].secret_hash
    assert stored.startswith("scrypt$") and SECRET not in stored


def test_a_forged_altered_or_expired_invitation_opens_nothing(engine):
    member, token = acc.invite(engine, "Ben")
    account_id, part = token.split(".")
    altered = part[:-1] + (
        "B" if part.endswith("A") else "A"
    )  # one character changed (a random token ends in A 1 time in 64)
    for bad in (None, "", "x", f"{account_id}.", f"{account_id}.{altered}", f"{int(account_id) + 1}.{part}"):
        assert acc.invited(engine, bad) is None
    _, fresh = acc.invite(engine, "Ben")  # a new link: the old one stops working
    assert acc.invited(engine, token) is None and acc.invited(engine, fresh) == member
    _, stale = acc.invite(engine, "Cy", days=-1)
    assert acc.invited(engine, stale) is None


def test_secrets_are_compared_in_constant_time(monkeypatch):
    stored = acc.hash_secret(SECRET)
    calls = []
    original = hmac.compare_digest
    monkeypatch.setattr(acc.hmac, "compare_digest", lambda a, b: calls.append(1) or original(a, b))
    assert acc.secret_matches(SECRET, stored) and not acc.secret_matches("wrong secret", stored)
    assert not acc.secret_matches(SECRET, None)  # no secret yet: the same scrypt work, then no
    assert len(calls) == 3


def test_a_sign_in_cookie_is_signed_ends_on_sign_out_and_when_the_person_leaves(engine, tmp_path):
    key = acc.server_key(tmp_path)
    assert acc.server_key(tmp_path) == key and len(key) == 32
    assert (tmp_path / acc.KEY_FILE).stat().st_mode & 0o077 == 0  # the server's user only
    ana, ben = join(engine, "Ana"), join(engine, "Ben")
    cookie, seconds = acc.start_sign_in(engine, key, ana)
    assert seconds == acc.SIGN_IN_DAYS * 86400
    assert acc.signed_in(engine, key, cookie) == ana
    nonce, stamp, signature = cookie.split(".")
    assert acc.signed_in(engine, b"another server" * 3, cookie) is None
    assert acc.signed_in(engine, key, f"{nonce}.{int(stamp) + 86400}.{signature}") is None  # a longer life: forged
    assert acc.signed_in(engine, key, None) is None and acc.signed_in(engine, key, "a.b.c") is None
    expired, _ = acc.start_sign_in(engine, key, ana, days=-1)
    assert acc.signed_in(engine, key, expired) is None
    acc.end_sign_in(engine, key, cookie)
    assert acc.signed_in(engine, key, cookie) is None  # signed out: a copy of the cookie is worth nothing
    ben_cookie, _ = acc.start_sign_in(engine, key, ben)
    acc.remove(engine, "Ben")
    assert acc.signed_in(engine, key, ben_cookie) is None and acc.check_secret(engine, "Ben", SECRET) is None
    device = acc.device_cookie(key, ana)
    assert acc.device_of(key, device) == (ana.id, device.split(".")[1])
    assert acc.device_of(key, device.replace(f"{ana.id}.", f"{ben.id}.", 1)) is None


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_wrong_secrets_back_off_per_person_and_per_session_with_a_growing_wait():
    clock = Clock()
    throttle = acc.Throttle(clock)
    keys = throttle.keys("Ana", "session 1", None, 1)
    for _ in range(acc.FREE_TRIES - 1):
        assert throttle.failed(keys) == 0.0
    assert throttle.tries_left(keys) == 1
    assert throttle.failed(keys) == acc.FIRST_WAIT_S
    assert throttle.wait(keys) == acc.FIRST_WAIT_S
    # a new session (a reload) still meets the person's count; another person from this session meets the session's
    assert throttle.wait(throttle.keys("ana", "session 2", None, 1)) == acc.FIRST_WAIT_S
    assert throttle.wait(throttle.keys("Ben", "session 1", None, 2)) == acc.FIRST_WAIT_S
    assert throttle.wait(throttle.keys("Ben", "session 2", None, 2)) == 0.0  # nothing server-wide
    clock.now += acc.FIRST_WAIT_S
    assert throttle.failed(keys) == 2 * acc.FIRST_WAIT_S  # it grows ...
    for _ in range(10):
        clock.now += acc.LONGEST_WAIT_S
        throttle.failed(keys)
    assert throttle.wait(keys) == acc.LONGEST_WAIT_S  # ... up to a ceiling
    clock.now += acc.QUIET_S + 1
    assert throttle.wait(keys) == 0.0 and throttle.tries_left(keys) == acc.FREE_TRIES  # forgotten after a quiet hour


def test_a_strangers_wrong_tries_never_keep_ana_out_of_a_browser_she_signed_in_on(tmp_path):
    clock = Clock()
    throttle = acc.Throttle(clock)
    key = acc.server_key(tmp_path)
    ana = acc.Member(1, "Ana", acc.RATER)
    device = acc.device_of(key, acc.device_cookie(key, ana))
    for i in range(200):  # every try from a fresh session, as a script without cookies would
        throttle.failed(throttle.keys("Ana", f"stranger {i}", None, 1))
    assert throttle.wait(throttle.keys("Ana", "stranger 201", None, 1)) > 0  # strangers are slowed ...
    assert throttle.wait(throttle.keys("Ana", "ana's session", device, 1)) == 0.0  # ... Ana's browser is not
    a_forged_device = (1, "made up")  # device_of refuses an unsigned one; even a stolen one is its own bucket
    for _ in range(acc.FREE_TRIES):
        throttle.failed(throttle.keys("Ana", "thief", a_forged_device, 1))
    assert throttle.wait(throttle.keys("Ana", "ana's session", device, 1)) == 0.0
    assert throttle.wait(throttle.keys("Ben", "ben's session", None, 2)) == 0.0


def test_the_bucket_memory_stays_bounded_under_a_flood_of_made_up_names(monkeypatch):
    monkeypatch.setattr(acc, "MAX_BUCKETS", 100)
    throttle = acc.Throttle(Clock())
    for i in range(1000):
        throttle.failed(throttle.keys(f"name {i}", f"session {i}", None, None))
    assert len(throttle._buckets) <= 100


def test_a_track_added_is_queued_for_the_models_until_they_hear_it(engine, tmp_path):
    store = AudioStore(tmp_path / "audio")
    first, _ = lab.add_track(engine, store, tone(300), "a.wav", added_by="Ana")
    second, _ = lab.add_track(engine, store, tone(400), "b.wav", added_by="Ana")
    lab.add_track(engine, store, tone(300), "again.wav", added_by="Ana")  # known: not queued twice
    assert answers.queued(engine) == [first.hash, second.hash]

    class Interrupted(Exception):
        pass

    class Predictor:  # stands for the models: answers the first track, then the browser "closes"
        calls = 0

        def analyze(self, path):
            from types import SimpleNamespace

            from emotionet.predict import Prediction

            Predictor.calls += 1
            if Predictor.calls > 1:
                raise Interrupted
            point = Prediction(valence=0.5, arousal=0.5, mood="calm", confidence=0.5)
            return SimpleNamespace(headline="pretrained", predictions={"pretrained": point})

    with pytest.raises(Interrupted):
        answers.predict_missing(engine, store, Predictor(), "k", answers.queued(engine))
    assert answers.queued(engine) == [second.hash]  # the heard one left; the other waits for the next visit
    store.find(second.hash).unlink()  # unreadable now: it leaves the queue with its reason, not forever
    assert "missing" in answers.predict_missing(engine, store, Predictor(), "k", answers.queued(engine))[second.hash]
    assert answers.queued(engine) == []


def test_a_removed_persons_invite_ends_and_a_new_one_brings_them_back(engine):
    join(engine, "Dee")
    acc.remove(engine, "dee")
    assert acc.check_secret(engine, "Dee", SECRET) is None
    member, token = acc.invite(engine, "Dee")
    assert acc.accept_invite(engine, token, "a new long secret") == member
    assert acc.check_secret(engine, "Dee", "a new long secret") == member
    with pytest.raises(acc.AccountError, match="No one called"):
        acc.remove(engine, "Nobody")
