"""Who is on the team: accounts, personal invitations, sign-in secrets, signed sign-in cookies, and
how fast wrong secrets may be tried. No Streamlit here (emotionet/app/signin.py draws the forms).

Roles, after Label Studio's annotator and reviewer, kept as light as a small team needs:

- a **rater** rates tracks under their own name (the name of their account, never one they pick)
  and sees the team's values of a track only after saving their own rating of it;
- a **coordinator** also adds tracks, sees every mean, evaluates and adapts the models, exports the
  test set and invites people.

A coordinator invites a person by name: they get a personal link holding a one-time token (valid
INVITE_DAYS), open it, choose their own secret (at least MIN_SECRET characters) and are signed in.
Later they sign in with their name and secret. Secrets are stored as scrypt hashes and invitation
tokens as SHA-256 hashes (the token is 192 random bits); every comparison is constant-time, and an
unknown name costs the same scrypt work as a known one.

A sign-in is a row of `team_sign_ins` (so signing out ends it on the server) named by a random
nonce; the browser keeps `<nonce>.<expiry>.<HMAC>` in a cookie, signed with the server key (a
random file in the data folder, `server_key`), so a forged or altered cookie is refused before the
database is asked. A device cookie (`<account id>.<nonce>.<HMAC>`, no expiry on the server) marks a
browser where the person signed in before: its wrong tries are counted apart from strangers'.

`Throttle` counts wrong secrets per person and per browser session with a growing back-off; no
count is keyed on a client address or any header the client writes, and none covers the whole
server, so a stranger's wrong tries never keep a team member out on a browser they signed in on
before (nor anyone else out at all).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Boolean, DateTime, Engine, ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..io.paths import data_dir
from .people import MAX_NAME, LabellingError, clean_name
from .storage import Base

RATER, COORDINATOR = "rater", "coordinator"
ROLES = (RATER, COORDINATOR)
MIN_SECRET = 8
MAX_SECRET = 200
INVITE_DAYS = 7
SIGN_IN_DAYS = 30
SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # 16 MB and ~0.1 s per check: slow to guess offline, quick to sign in
KEY_FILE = "team-server.key"


class AccountError(LabellingError):
    """A sign-in or account request refused, with a message a person understands."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime) -> datetime:
    """SQLite gives naive datetimes back: they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class Account(Base):
    __tablename__ = "team_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME), unique=True)  # also the rater name of their ratings
    role: Mapped[str] = mapped_column(String(16), default=RATER)
    secret_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)  # none until an invite is used
    invite_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    invite_expires: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)

    @property
    def coordinator(self) -> bool:
        return self.role == COORDINATOR


class SignIn(Base):
    """One browser's sign-in; `ended_at` is set by signing out (or by removing the person)."""

    __tablename__ = "team_sign_ins"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's nonce
    account_id: Mapped[int] = mapped_column(ForeignKey("team_accounts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class Member:
    """A signed-in person as the pages see them."""

    id: int
    name: str
    role: str

    @property
    def coordinator(self) -> bool:
        return self.role == COORDINATOR


def _member(account: Account) -> Member:
    return Member(account.id, account.name, account.role)


# --- secrets ----------------------------------------------------------------------------------


def hash_secret(secret: str) -> str:
    """scrypt$n$r$p$salt$hash (base64) of a secret."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, maxmem=64 * 2**20, **SCRYPT)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${b64(salt)}${b64(digest)}"


def secret_matches(secret: str, stored: str | None) -> bool:
    """Whether `secret` is the one `stored` (hash_secret's) was made from; constant-time. With no
    stored hash the same work is done against a dummy, so timing tells no name from another."""
    try:
        kind, n, r, p, salt, digest = (stored or _DUMMY).split("$")
        expected = base64.b64decode(digest)
        given = hashlib.scrypt(
            str(secret).encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected),
            maxmem=64 * 2**20,
        )  # fmt: skip
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(given, expected) and stored is not None and kind == "scrypt"


_DUMMY = hash_secret("not anyone's secret")


def check_new_secret(secret: str, again: str | None = None) -> str:
    secret = str(secret or "")
    if len(secret) < MIN_SECRET:
        raise AccountError(f"Choose a secret of at least {MIN_SECRET} characters (a few words are easy to remember).")
    if len(secret) > MAX_SECRET:
        raise AccountError(f"A secret is at most {MAX_SECRET} characters.")
    if again is not None and not hmac.compare_digest(secret.encode(), str(again).encode()):
        raise AccountError("The two secrets differ: type the same one twice.")
    return secret


def _token_hash(part: str) -> str:
    return hashlib.sha256(part.encode()).hexdigest()


# --- accounts and invitations -------------------------------------------------------------------


def list_accounts(engine: Engine) -> list[Account]:
    with Session(engine, expire_on_commit=False) as session:
        return list(session.scalars(select(Account).order_by(Account.name)))


def has_coordinator(engine: Engine) -> bool:
    with engine.connect() as connection:
        query = select(Account.id).where(Account.role == COORDINATOR, Account.active.is_(True)).limit(1)
        return connection.execute(query).first() is not None


def _find(session: Session, name: str) -> Account | None:
    """The account named `name`: exactly, else the one whose name differs only in case."""
    exact = session.scalars(select(Account).where(Account.name == name)).first()
    if exact is not None:
        return exact
    folded = [a for a in session.scalars(select(Account)) if a.name.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


def account_id(engine: Engine, name: str) -> int | None:
    """The id of the account called `name` (as `check_secret` finds it), or None."""
    try:
        name = clean_name(name)
    except LabellingError:
        return None
    with Session(engine) as session:
        account = _find(session, name)
        return None if account is None else account.id


def invite(engine: Engine, name: str, role: str | None = None, days: float = INVITE_DAYS) -> tuple[Member, str]:
    """A personal one-time invitation for `name` (their account is created if new, with `role`,
    default rater; an existing person gets a fresh link, and their role changes only when `role` is
    given). Returns (member, token): the link is `invite_link(base, token)`. Using it lets them
    choose a new secret, so it also serves when someone forgot theirs; the link before it stops working."""
    name = clean_name(name)
    if role is not None and role not in ROLES:
        raise AccountError(f"A role is one of {', '.join(ROLES)}, not {role!r}.")
    part = secrets.token_urlsafe(24)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        account = _find(session, name)
        if account is None:
            account = Account(name=name, role=role or RATER, active=True, created_at=_now())
            session.add(account)
        elif role is not None:
            account.role = role
        account.active = True
        account.invite_hash = _token_hash(part)
        account.invite_expires = _now() + timedelta(days=days)
        session.flush()
        member = _member(account)
    return member, f"{member.id}.{part}"


def invite_link(base_url: str, token: str) -> str:
    """The personal link of an invitation: the Label page with the token."""
    return f"{base_url.rstrip('/')}/label?invite={token}"


def invited(engine: Engine, token: str | None) -> Member | None:
    """The person a valid, unused, unexpired invitation token names; else None."""
    with Session(engine) as session:
        account = _invited(session, token)
        return None if account is None else _member(account)


def _invited(session: Session, token: str | None) -> Account | None:
    account_id, _, part = str(token or "").partition(".")
    if not account_id.isdigit() or not part:
        return None
    account = session.get(Account, int(account_id))
    if account is None or not account.active or not account.invite_hash or account.invite_expires is None:
        return None
    if not hmac.compare_digest(_token_hash(part), account.invite_hash) or _aware(account.invite_expires) < _now():
        return None
    return account


def accept_invite(engine: Engine, token: str, secret: str, again: str | None = None) -> Member:
    """Use an invitation: the person's secret becomes `secret` and the link stops working."""
    secret = check_new_secret(secret, again)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        account = _invited(session, token)
        if account is None:
            raise AccountError("This invitation link is used, expired or not valid: ask a coordinator for a new one.")
        account.secret_hash = hash_secret(secret)
        account.invite_hash = account.invite_expires = None
        return _member(account)


def check_secret(engine: Engine, name: str, secret: str) -> Member | None:
    """The member whose name and secret these are, else None (the same scrypt work either way)."""
    try:
        name = clean_name(name)
    except LabellingError:
        name = ""
    with Session(engine) as session:
        account = _find(session, name) if name else None
        stored = account.secret_hash if account is not None and account.active else None
        return _member(account) if secret_matches(secret, stored) and account is not None else None


def remove(engine: Engine, name: str) -> None:
    """Take `name` off the team: their link and every sign-in end (their ratings stay)."""
    with Session(engine) as session, session.begin():
        account = _find(session, clean_name(name))
        if account is None:
            raise AccountError(f"No one called {name!r} is on the team.")
        account.active, account.invite_hash = False, None
        session.execute(
            update(SignIn).where(SignIn.account_id == account.id, SignIn.ended_at.is_(None)).values(ended_at=_now())
        )


# --- the server key, sign-in cookies and device cookies ----------------------------------------


def server_key(folder: Path | None = None) -> bytes:
    """The server's signing key: 32 random bytes in the data folder (made on first use, readable by
    the server's user only). Deleting the file signs everyone out."""
    path = Path(folder or data_dir()) / KEY_FILE
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it meanwhile
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


def _sign(key: bytes, *parts: str) -> str:
    return hmac.new(key, ".".join(parts).encode(), hashlib.sha256).hexdigest()[:40]


def start_sign_in(engine: Engine, key: bytes, member: Member, days: float = SIGN_IN_DAYS) -> tuple[str, int]:
    """Record a sign-in of `member`; returns (cookie value, seconds it lasts)."""
    nonce = secrets.token_urlsafe(24)
    expires = _now() + timedelta(days=days)
    with Session(engine) as session, session.begin():
        session.add(SignIn(id=_token_hash(nonce), account_id=member.id, created_at=_now(), expires_at=expires))
    stamp = str(int(expires.timestamp()))
    return f"{nonce}.{stamp}.{_sign(key, 'sign-in', nonce, stamp)}", int(days * 86400)


def signed_in(engine: Engine, key: bytes, cookie: str | None) -> Member | None:
    """The member of a sign-in cookie: signed by this server, not expired, not ended, the person
    still on the team; else None."""
    nonce, stamp, signature = (str(cookie or "").split(".") + ["", "", ""])[:3]
    if not (nonce and stamp.isdigit() and hmac.compare_digest(signature, _sign(key, "sign-in", nonce, stamp))):
        return None
    if int(stamp) < time.time():
        return None
    with Session(engine) as session:
        row = session.get(SignIn, _token_hash(nonce))
        if row is None or row.ended_at is not None or _aware(row.expires_at) < _now():
            return None
        account = session.get(Account, row.account_id)
        return _member(account) if account is not None and account.active else None


def end_sign_in(engine: Engine, key: bytes, cookie: str | None) -> None:
    """Sign out: the sign-in of this cookie ends on the server (a copy of the cookie is worth nothing)."""
    nonce, stamp, signature = (str(cookie or "").split(".") + ["", "", ""])[:3]
    if nonce and hmac.compare_digest(signature, _sign(key, "sign-in", nonce, stamp)):
        with Session(engine) as session, session.begin():
            session.execute(update(SignIn).where(SignIn.id == _token_hash(nonce)).values(ended_at=_now()))


def device_cookie(key: bytes, member: Member) -> str:
    """A value marking this browser as one where `member` signed in."""
    nonce = secrets.token_urlsafe(12)
    return f"{member.id}.{nonce}.{_sign(key, 'device', str(member.id), nonce)}"


def device_of(key: bytes, cookie: str | None) -> tuple[int, str] | None:
    """(account id, device nonce) of a device cookie this server signed, else None."""
    account_id, nonce, signature = (str(cookie or "").split(".") + ["", "", ""])[:3]
    if account_id.isdigit() and nonce and hmac.compare_digest(signature, _sign(key, "device", account_id, nonce)):
        return int(account_id), nonce
    return None


# --- wrong secrets: per person and per browser session, with a growing back-off ------------------

FREE_TRIES = 5  # wrong tries a bucket may make before it must wait
FIRST_WAIT_S = 30.0  # the first wait; each further wrong try doubles it ...
LONGEST_WAIT_S = 900.0  # ... up to this
QUIET_S = 3600.0  # a bucket with no wrong try for this long starts again from nothing
MAX_BUCKETS = 20000  # the oldest are forgotten first: a flood of made-up names cannot fill the memory


class Throttle:
    """Wrong secrets as the server process counts them. A try is counted in two buckets: the browser
    session's, and the person's it was for: the person's *trusted* bucket of the device cookie when
    the browser holds one for that person, else the person's bucket for every other browser. Each
    bucket may make FREE_TRIES wrong tries; then each wrong try makes it wait FIRST_WAIT_S, doubling
    to LONGEST_WAIT_S. A right secret is always checked unless one of the try's own buckets waits,
    so strangers, whatever they send, only ever slow the person's untrusted bucket. Thread-safe;
    `clock` is injectable for tests."""

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple, tuple[int, float, float]] = {}  # key -> (wrong tries, last try, free at)

    @staticmethod
    def keys(name: str, session_id: str, device: tuple[int, str] | None, account_id: int | None) -> list[tuple]:
        """The buckets of a try for `name` from a session, with the browser's device cookie (if any)."""
        person = " ".join(str(name).split()).casefold()
        if device is not None and account_id is not None and device[0] == account_id:
            person_key = ("person", person, "device", device[1])
        else:
            person_key = ("person", person, "others")
        return [("session", session_id), person_key]

    def wait(self, keys: list[tuple]) -> float:
        """Seconds before the next try in these buckets may be checked (0: now)."""
        with self._lock:
            now = self.clock()
            return max((self._free_at(k, now) - now for k in keys), default=0.0) if keys else 0.0

    def _free_at(self, key: tuple, now: float) -> float:
        wrong, last, free_at = self._buckets.get(key, (0, now, now))
        if now - last > QUIET_S:
            self._buckets.pop(key, None)
            return now
        return max(free_at, now)

    def failed(self, keys: list[tuple]) -> float:
        """Count a wrong try in each bucket; returns the wait it causes (0 within the free tries)."""
        with self._lock:
            now = self.clock()
            longest = 0.0
            for key in keys:
                wrong, last, _ = self._buckets.get(key, (0, now, now))
                wrong = 1 if now - last > QUIET_S else wrong + 1
                wait = 0.0 if wrong < FREE_TRIES else min(FIRST_WAIT_S * 2 ** (wrong - FREE_TRIES), LONGEST_WAIT_S)
                self._buckets.pop(key, None)
                self._buckets[key] = (wrong, now, now + wait)  # newest last: the oldest go first below
                longest = max(longest, wait)
            while len(self._buckets) > MAX_BUCKETS:
                self._buckets.pop(next(iter(self._buckets)))
            return longest

    def tries_left(self, keys: list[tuple]) -> int:
        with self._lock:
            return max(0, FREE_TRIES - max((self._buckets.get(k, (0, 0, 0))[0] for k in keys), default=0))

    def succeeded(self, keys: list[tuple]) -> None:
        """A right secret: the session's and the trusted device's counts end (a person's bucket for
        other browsers does not: a stranger's count would otherwise restart whenever they sign in)."""
        with self._lock:
            for key in keys:
                if key[0] == "session" or "device" in key:
                    self._buckets.pop(key, None)
