"""``ocop keys``: make and inspect signing keys (encrypted files, or keys in a PKCS#11 token),
register and retire an authority's keys."""

from __future__ import annotations

import argparse
from datetime import date, datetime
from pathlib import Path
from typing import Any

from signing import PrivateKey, key_id
from signing.dates import add_months, vietnam_date
from signing.keys import b64url_encode
from verifier import registry
from verifier.cli.common import CommandError, load_settings, operator, registry_write
from verifier.settings import MODULE_VARIABLE, PIN_VARIABLE
from verifier.signer import keyfiles, token_keys
from verifier.signer.key_access import open_private_key, token_access


def add_parsers(commands: Any) -> None:
    """Add ``keys generate``, ``show``, ``token-generate``, ``token-list``, ``add`` and
    ``retire`` to ``commands``, each with its handler."""
    keys = commands.add_parser("keys", help="make and inspect signing keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    generate = key_commands.add_parser(
        "generate",
        help="make a new Ed25519 key, stored as encrypted PKCS#8 PEM (mode 0600)",
        description="The passphrase comes from OCOP_KEY_PASSPHRASE, or is asked on the terminal.",
    )
    generate.set_defaults(run=_keys_generate)
    generate.add_argument("--out", type=Path, required=True, help="the new key file")
    show = key_commands.add_parser("show", help="print the public key of a key file")
    show.set_defaults(run=_keys_show)
    show.add_argument("file", type=Path)
    token_generate = key_commands.add_parser(
        "token-generate",
        help="make a new Ed25519 key inside a PKCS#11 token; it never leaves the token",
        description=f"The token's library comes from {MODULE_VARIABLE}, its user "
        f"PIN from {PIN_VARIABLE}. Prints the key's pkcs11: URI for `keys add`; "
        "the generation lands in the audit log.",
    )
    token_generate.set_defaults(run=_keys_token_generate)
    token_generate.add_argument("--data-dir", type=Path, required=True)
    token_generate.add_argument("--token", required=True, help="the token's label")
    token_generate.add_argument("--label", required=True, help="the new key's label, unique")
    token_list = key_commands.add_parser("token-list", help="list the Ed25519 keys in a token")
    token_list.set_defaults(run=_keys_token_list)
    token_list.add_argument("--data-dir", type=Path, required=True)
    token_list.add_argument("--token", required=True, help="the token's label")
    add = key_commands.add_parser(
        "add",
        help="register a key as an authority's new stamp-signing key (rotation)",
        description="The key is a file under DIR/keys/ or a key in a token (its pkcs11: URI). "
        "Republishes the trust list; `ocop serve` signs new batches with the key at once, "
        "without a restart.",
    )
    add.set_defaults(run=_keys_add)
    add.add_argument("--data-dir", type=Path, required=True)
    add.add_argument("--authority", required=True, help="authority code, e.g. VN-01 or VN-TW")
    add.add_argument(
        "--key", required=True, help="the key file, under DIR/keys/, or pkcs11:token=...;object=..."
    )
    add.add_argument("--not-before", type=date.fromisoformat, help="first signing day (today)")
    add.add_argument("--not-after", type=date.fromisoformat, help="last signing day (in 5 years)")
    retire = key_commands.add_parser(
        "retire",
        help="retire a key: it signs no more and its last serial is published",
    )
    retire.set_defaults(run=_keys_retire)
    retire.add_argument("--data-dir", type=Path, required=True)
    retire.add_argument("index", type=int, help="the key index")


def _keys_generate(args: argparse.Namespace, now: datetime) -> int:
    out: Path = args.out
    if out.exists():
        raise CommandError(f"{out} already exists; a key file is never overwritten")
    key = PrivateKey.generate()
    try:
        keyfiles.write_key(out, key, keyfiles.passphrase(confirm=True))
    except FileExistsError:
        raise CommandError(f"{out} already exists; a key file is never overwritten") from None
    except OSError as exc:
        raise CommandError(f"cannot write {out}: {exc.strerror}") from None
    _print_public(f"file:       {out}", key.public_key)
    return 0


def _keys_show(args: argparse.Namespace, now: datetime) -> int:
    try:
        key = keyfiles.read_key(args.file, keyfiles.passphrase())
    except OSError as exc:
        raise CommandError(f"cannot read {args.file}: {exc.strerror}") from None
    _print_public(f"file:       {args.file}", key.public_key)
    return 0


def _keys_token_generate(args: argparse.Namespace, now: datetime) -> int:
    settings = load_settings(args.data_dir)
    ref = token_keys.TokenKeyRef(args.token, args.label)
    with registry_write(settings, now) as session:
        key = token_keys.generate_key(token_access(settings), ref)
        registry.record_key_generated(
            session, actor=operator(), where=ref.uri, public_key=key.public_key, now=now
        )
    _print_public(f"key:        {ref.uri}", key.public_key)
    return 0


def _keys_token_list(args: argparse.Namespace, now: datetime) -> int:
    settings = load_settings(args.data_dir)
    for info in token_keys.list_keys(token_access(settings), args.token):
        custody = "EXTRACTABLE" if info.extractable else "non-extractable"
        public = "no public key" if info.public_key is None else key_id(info.public_key)
        print(f"{info.ref.uri}  {public}  {custody}")
    return 0


def _key_reference(data_dir: Path, key: str) -> str:
    """Return what the registry keeps of the key ``key`` names: a pkcs11: URI as it is, a file
    as its path in ``data_dir``. Raises :class:`CommandError` for a file outside its keys/."""
    if token_keys.is_token_reference(key):
        return key
    key_path = Path(key).resolve()
    if not key_path.is_relative_to(data_dir / "keys"):
        raise CommandError(f"put the key file under {data_dir / 'keys'} first")
    return str(key_path.relative_to(data_dir))


def _keys_add(args: argparse.Namespace, now: datetime) -> int:
    data_dir: Path = args.data_dir.resolve()
    reference = _key_reference(data_dir, args.key)
    settings = load_settings(data_dir)
    try:
        private = open_private_key(settings, reference)
    except OSError as exc:
        raise CommandError(f"cannot read {args.key}: {exc.strerror}") from None
    today = vietnam_date(now)
    period = (args.not_before or today, args.not_after or add_months(today, 60))
    with registry_write(settings, now) as session:
        key = registry.add_signing_key(
            session,
            actor=operator(),
            authority_code=args.authority,
            public_key=private.public_key,
            period=period,
            key_file=reference,
            now=now,
        )
        print(f"key {key.index}: {args.authority}, stars {key.stars}, {period[0]} .. {period[1]}")
    print("new batches are signed with the new key")
    return 0


def _keys_retire(args: argparse.Namespace, now: datetime) -> int:
    with registry_write(load_settings(args.data_dir), now) as session:
        key = registry.retire_signing_key(session, actor=operator(), key_index=args.index, now=now)
        print(f"key {key.index} retired; serials above {key.last_serial} are now counterfeit")
    return 0


def _print_public(where: str, public_key: bytes) -> None:
    print(where)
    print(f"public key: {b64url_encode(public_key)}")
    print(f"key id:     {key_id(public_key)}")
