"""Operations on accounts (``user.admin``), one's own password, and the
command line's first account.

Password hashes never leave the server. Disabling an account or resetting
its password revokes every token and session it holds. An admin cannot
disable or demote themselves, so there is always an active admin."""

from __future__ import annotations

from datetime import datetime

from fleet_server.access.audit import record
from fleet_server.access.pagination import ListParams, Page
from fleet_server.access.principal import Actor, Principal
from fleet_server.errors import Conflict, NotFound
from fleet_server.users import storage, storage_logins
from fleet_server.users.models import ROLES, UserError, WrongPassword, invalid_field
from fleet_server.users.passwords import WeakPassword, check_strength, hash_password
from fleet_server.users.passwords import verify_password as _verify
from fleet_server.users.schemas import UserCreate, UserOut, UserPatch
from fleet_server.users.storage import Conn


def _strong(password: str, username: str) -> None:
    """The rules a new password meets, refused as a field of the request."""
    try:
        check_strength(password, username)
    except WeakPassword as exc:
        raise invalid_field("password", exc.detail, WeakPassword) from None


def _check_refs(conn: Conn, organisation_id: int | None, site_ids: list[int] | None) -> None:
    if organisation_id is not None and not storage.organisation_exists(conn, organisation_id):
        raise invalid_field("organisation_id", f"there is no organisation {organisation_id}")
    if site_ids:
        missing = storage.missing_sites(conn, site_ids)
        if missing:
            raise invalid_field("site_ids", f"there is no site {missing[0]}")


def list_users(
    conn: Conn,
    principal: Principal,
    paging: ListParams,
    *,
    now: datetime,
    role: str | None = None,
    organisation_id: int | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> Page[UserOut]:
    principal.need("user.admin")
    return storage.list_users(
        conn, paging, now=now, role=role, organisation_id=organisation_id, active=active, q=q
    )


def get_user(
    conn: Conn, principal: Principal, user_id: int, *, now: datetime, lock: bool = False
) -> UserOut:
    principal.need("user.admin")
    found = storage.get_user(conn, user_id, now=now, lock=lock)
    if found is None:
        raise NotFound("user", user_id)
    return found


def create_user(
    conn: Conn, principal: Principal, actor: Actor, body: UserCreate, *, now: datetime
) -> UserOut:
    """A personal account; the password is checked and stored as Argon2id."""
    principal.need("user.admin")
    _strong(body.password, body.username)
    _check_refs(conn, body.organisation_id, body.site_ids)
    user_id = storage.insert_user(
        conn,
        username=body.username,
        full_name=body.full_name.strip(),
        email=body.email,
        role=body.role,
        organisation_id=body.organisation_id,
        team=body.team,
        language=body.language,
        password_hash=hash_password(body.password),
        now=now,
    )
    storage.set_sites(conn, user_id, body.site_ids)
    created = get_user(conn, principal, user_id, now=now)
    record(conn, actor, "user.create", target_type="user", target_id=created.id, after=created)
    return created


def update_user(
    conn: Conn, principal: Principal, actor: Actor, user_id: int, body: UserPatch, *, now: datetime
) -> UserOut:
    """Change an account. Disabling it revokes its tokens and sessions."""
    principal.need("user.admin")
    before = get_user(conn, principal, user_id, now=now, lock=True)
    changes = {k: getattr(body, k) for k in body.model_fields_set}
    for field in ("full_name", "role", "language", "active", "site_ids"):
        if field in changes and changes[field] is None:
            raise invalid_field(field, "cannot be null")
    if user_id == principal.user_id:
        if changes.get("active") is False:
            raise Conflict("you cannot disable your own account; ask another admin")
        if changes.get("role", "admin") != "admin":
            raise Conflict("you cannot take away your own admin role; ask another admin")
    site_ids = changes.pop("site_ids", None)
    _check_refs(conn, changes.get("organisation_id"), site_ids)
    if "full_name" in changes:
        changes["full_name"] = changes["full_name"].strip()
        if not changes["full_name"]:
            raise invalid_field("full_name", "must not be blank")
    if changes:
        storage.update_user(conn, user_id, changes, now=now)
    if site_ids is not None:
        storage.set_sites(conn, user_id, site_ids)
    disabled = before.active and changes.get("active") is False
    if disabled:
        storage_logins.revoke_all(conn, user_id, now)
    after = get_user(conn, principal, user_id, now=now)
    record(
        conn,
        actor,
        "user.update",
        target_type="user",
        target_id=user_id,
        before=before,
        after=after,
        detail="disabled; tokens and sessions revoked" if disabled else None,
    )
    return after


def reset_password(
    conn: Conn,
    principal: Principal,
    actor: Actor,
    user_id: int,
    new_password: str,
    *,
    now: datetime,
) -> None:
    """An admin sets a new password (told to the holder in person); every
    token and session of the account is revoked and a lock-out is lifted."""
    principal.need("user.admin")
    target = get_user(conn, principal, user_id, now=now, lock=True)
    _strong(new_password, target.username)
    storage.reset_password(conn, user_id, hash_password(new_password), now=now)
    keep = principal.token_id if user_id == principal.user_id else None
    storage_logins.revoke_all(conn, user_id, now, keep=keep)
    record(
        conn,
        actor,
        "user.password_reset",
        target_type="user",
        target_id=user_id,
        before={"password_changed_at": target.password_changed_at},
        after={"password_changed_at": now},
        detail="password reset by an admin; tokens and sessions revoked",
    )


def unlock_user(
    conn: Conn, principal: Principal, actor: Actor, user_id: int, *, now: datetime
) -> UserOut:
    """Lift a lock-out after repeated failed logins."""
    principal.need("user.admin")
    before = get_user(conn, principal, user_id, now=now, lock=True)
    storage.unlock(conn, user_id, now=now)
    after = get_user(conn, principal, user_id, now=now)
    record(
        conn,
        actor,
        "user.unlock",
        target_type="user",
        target_id=user_id,
        before={"failed_logins": before.failed_logins, "locked_until": before.locked_until},
        after={"failed_logins": 0, "locked_until": None},
    )
    return after


def change_own_password(
    conn: Conn,
    principal: Principal,
    actor: Actor,
    current_password: str,
    new_password: str,
    *,
    now: datetime,
) -> None:
    """Change one's own password; every other token and session is revoked."""
    stored = storage.password_hash(conn, principal.user_id)
    if stored is None or not _verify(stored, current_password):
        raise WrongPassword("the current password is wrong")
    check_strength(new_password, principal.username)
    storage.set_password(conn, principal.user_id, hash_password(new_password), now=now)
    storage_logins.revoke_all(conn, principal.user_id, now, keep=principal.token_id)
    record(conn, actor, "user.password_change", target_type="user", target_id=principal.user_id)


def create_account(
    conn: Conn,
    *,
    username: str,
    full_name: str,
    role: str,
    password: str,
    actor: str,
    email: str | None = None,
    organisation_id: int | None = None,
) -> int:
    """Create a personal account (and its audit row) in one transaction: the
    command line's ``create-admin`` and the demo's accounts."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    check_strength(password, username)
    with conn.transaction():
        user_id = storage.insert_account(
            conn,
            username=username,
            full_name=full_name,
            email=email,
            role=role,
            organisation_id=organisation_id,
            password_hash=hash_password(password),
        )
        record(
            conn,
            actor,
            "user.create",
            target_type="user",
            target_id=user_id,
            after={
                "username": username,
                "role": role,
                "full_name": full_name,
                "organisation_id": organisation_id,
            },
        )
    return user_id
