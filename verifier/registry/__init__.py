"""Registry operations: every write checks role and ownership and lands in the audit log.

Functions take the caller (:class:`Actor`) and the time (``now``) explicitly; none reads the
clock. They flush but do not commit: the caller owns the transaction.

One module per concept; call sites use the names below (``registry.allocate_batch(...)``):

- :mod:`~verifier.registry.actors`: who acts and what they answer for, the audit record
- :mod:`~verifier.registry.tokens`: API tokens and the actors they stand for
- :mod:`~verifier.registry.producers`: producers and products
- :mod:`~verifier.registry.certificates`: recognition, revocation, supersession, expiry
- :mod:`~verifier.registry.batches`: serials allocated, voided
- :mod:`~verifier.registry.lots`: production lots declared for traceability, and the batches
  that label them
- :mod:`~verifier.registry.gs1_keys`: GTINs, GLNs and lot numbers, checked
- :mod:`~verifier.registry.signing_grants`: what may be signed of a batch, granted or refused
- :mod:`~verifier.registry.serial_blocks`: serials blocked as clones, and lifted
- :mod:`~verifier.registry.serial_flags`: serials flagged by the clone rules, and cleared
- :mod:`~verifier.registry.signing_keys`: keys added, retired, compromised
- :mod:`~verifier.registry.reports`: inspectors' reports, filed and handled at the desk
"""

from verifier.registry.actors import (
    Actor,
    get,
    key_indexes_of,
    require_key,
)
from verifier.registry.batches import (
    MAX_BATCH,
    allocate_batch,
    batch_for,
    batch_ordered_with,
    order_digest,
    void_batch,
)
from verifier.registry.certificates import (
    expire_certificates,
    expiring_certificates,
    reevaluate_certificate,
    register_certificate,
    revoke_certificate,
    supersede_certificate,
)
from verifier.registry.gs1_keys import StampForm, gln_of, gtin_of, lot_number_of, stamp_gtin
from verifier.registry.lots import (
    LOT_LIMITS,
    LotDocument,
    Origin,
    Stage,
    add_lot_stage,
    label_lots,
    lot_json,
    lots_of_product,
    lots_of_stamp,
    record_lot,
)
from verifier.registry.producers import register_producer, register_product, set_label_photo
from verifier.registry.reports import (
    MAX_REPORT_PHOTOS,
    desk_report,
    desk_reports,
    file_report,
    reports_of,
    update_report,
)
from verifier.registry.serial_blocks import (
    INSPECTOR_BLOCKS,
    InspectorBlocks,
    block_serials,
    lift_block,
)
from verifier.registry.serial_flags import clear_scan_pattern, flagged_serials
from verifier.registry.signing_grants import SigningGrant, grant_signing, refuse_signing
from verifier.registry.signing_keys import (
    add_signing_key,
    mark_key_compromised,
    record_key_generated,
    retire_signing_key,
)
from verifier.registry.tokens import (
    actor_for_token,
    actor_of,
    create_token,
    hash_token,
)

__all__ = [
    "INSPECTOR_BLOCKS",
    "LOT_LIMITS",
    "MAX_BATCH",
    "MAX_REPORT_PHOTOS",
    "Actor",
    "InspectorBlocks",
    "LotDocument",
    "Origin",
    "SigningGrant",
    "Stage",
    "StampForm",
    "actor_for_token",
    "actor_of",
    "add_lot_stage",
    "add_signing_key",
    "allocate_batch",
    "batch_for",
    "batch_ordered_with",
    "block_serials",
    "clear_scan_pattern",
    "create_token",
    "desk_report",
    "desk_reports",
    "expire_certificates",
    "expiring_certificates",
    "file_report",
    "flagged_serials",
    "get",
    "gln_of",
    "grant_signing",
    "gtin_of",
    "hash_token",
    "key_indexes_of",
    "label_lots",
    "lift_block",
    "lot_json",
    "lot_number_of",
    "lots_of_product",
    "lots_of_stamp",
    "mark_key_compromised",
    "order_digest",
    "record_key_generated",
    "record_lot",
    "reevaluate_certificate",
    "refuse_signing",
    "register_certificate",
    "register_producer",
    "register_product",
    "reports_of",
    "require_key",
    "retire_signing_key",
    "revoke_certificate",
    "set_label_photo",
    "stamp_gtin",
    "supersede_certificate",
    "update_report",
    "void_batch",
]
