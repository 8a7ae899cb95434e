// Run by tests/test_browser_vectors.py through page.evaluate: every published vector through
// the scanner's verifier, ocop-verify.js; returns the cases that did not give what they expect.
(async ({ index, files, types }) => {
  const v = await import("/static/ocop-verify.js");
  const roots = [v.hexToBytes(index.root_public_key_hex)];
  const now = Date.parse(index.now);
  const failures = [];
  const check = (file, kind, held = null) => v.checkDocument(files[file], types[kind], roots, now, held);
  const trust = v.trustListOf(await check(index.trust_list, "trust_list"));
  const status = v.statusListOf(await check(index.status_list, "status_list"));
  for (const c of index.stamps) {
    const got = await v.offlineVerdict(c.input, trust, status, now, c.stars_seen ?? null);
    const shown = { verdict: got.verdict, reasons: got.reasons, notes: got.notes };
    if (JSON.stringify(shown) !== JSON.stringify(c.expected)) failures.push({ name: c.name, got: shown });
  }
  for (const d of index.documents) {
    let got = null;
    try {
      const claims = await check(d.file, d.kind, d.held_version);
      if (d.kind === "trust_list") v.trustListOf(claims);
      if (d.kind === "status_list") v.statusListOf(claims);
    } catch (e) { got = e.code ?? String(e); }
    if (got !== d.expected_error) failures.push({ name: d.name, got });
  }
  const shape = (claims) => JSON.stringify([
    claims.version, claims.issued_at, claims.expires_at,
    claims.certificates.map((c) => JSON.stringify(c)).sort(),
    ...[claims.blocked_serials, claims.voided_batches].map((rs) => rs.map((r) => `${r.key_index}:${r.first}:${r.last}`).sort()),
  ]);
  for (const c of index.changes) {
    let got = null;
    try {
      const held = await check(c.held, "status_list");
      const typ = v.unverifiedDocumentType(files[c.changes]);
      if (typ !== v.STATUS_CHANGES_TYPE) throw new Error(`typ ${typ}`);
      const changes = await check(c.changes, "status_list_changes", held.version);
      const applied = v.applyStatusChanges(held, changes);
      v.statusListOf(applied);
      if (shape(applied) !== shape(await check(c.result, "status_list"))) got = "result_differs";
    } catch (e) { got = e.code ?? String(e); }
    if (got !== c.expected_error) failures.push({ name: c.name, got });
  }
  return { stamps: index.stamps.length, documents: index.documents.length, changes: index.changes.length, failures };
})
