"""The tenant page's record (docs/tenant-page.md "Tenant page"): where its archive is and when it is
purged, notes support and admins leave (audited as `tenant.note`), and the audit trail. Notes and
reasons were typed by people: drawn as plain text (ui/text.py, st.text, data frames)."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.services import tenant_story
from control_plane.services.tenant_story import NOTE_MAX, TenantStory
from control_plane.units import human_bytes
from ui.feedback import attempt, csv_download, flash
from ui.formatting import days_until, diff, utc_time
from ui.text import plain


def render_archive(story: TenantStory) -> None:
    archive = story.archive
    if archive is None:
        return
    st.subheader("Archive")
    purged = story.tenant.status == "purged"
    if purged:
        where = "deleted: the tenant was purged"
    else:
        where = archive.uri or "not uploaded yet"
    lines = [f"**Location** {plain(where)}"]
    if archive.key:
        lines.append(f"**Bucket** {plain(archive.bucket)} · **Key** {plain(archive.key)}")
    lines.append(f"**Size** {human_bytes(archive.size_bytes) if archive.size_bytes is not None else '–'}"
                 f" · **Tables** {archive.tables if archive.tables is not None else '–'}")
    if archive.checksum_recorded:
        lines.append(f"**Checksum** sha256 {plain(archive.sha256[:16])}… recorded when the archive was verified; "
                     "a restore refuses an object in S3 that differs")
    else:
        lines.append("**Checksum** none recorded: the archive was not finished")
    lines.append(f"**Archived** {utc_time(archive.archived_at)}")
    if archive.purge_after is not None and not purged:
        lines.append(f"**Purged after** {utc_time(archive.purge_after)} "
                     f"({days_until(archive.purge_after, story.now)})")
    st.markdown("  \n".join(lines))


def render_notes(ctx: AppContext, actor: Actor, story: TenantStory) -> None:
    st.subheader("Notes")
    slug = story.tenant.slug
    if actor.can(Permission.TENANTS_NOTE):
        with st.form(f"note_{slug}", clear_on_submit=True):
            text = st.text_area("New note", key=f"note_text_{slug}", max_chars=NOTE_MAX,
                                help="Kept in the audit log as tenant.note; notes cannot be edited or deleted.")
            where = st.empty()
            if st.form_submit_button("Add note", icon=":material/note_add:") and attempt(
                    "Saving the note…", lambda: tenant_story.add_note(ctx, actor, slug, text), where=where):
                flash(f"Note added to {slug}.")
                st.rerun()
    if not story.notes:
        st.caption("No notes yet." if actor.can(Permission.TENANTS_NOTE)
                   else "No notes yet. Support and admins can add notes.")
        return
    for note in story.notes:
        with st.container(border=True):
            st.caption(plain(f"{note.author} ({note.role or '–'}) · {utc_time(note.at)}"))
            st.text(note.text)


def render_audit(story: TenantStory) -> None:
    st.subheader("Audit trail")
    if not story.audit:
        st.info("Nothing recorded for this tenant yet.")
        return
    frame = pd.DataFrame([{
        "When": utc_time(a.at), "Who": a.actor, "Role": a.actor_role or "–", "Action": a.action,
        "Outcome": a.outcome, "Reason": a.reason or "", "Change": diff(a.before, a.after),
    } for a in story.audit])
    # No fixed height: the default fits the rows (up to ten, then it scrolls); a fixed one padded a
    # short trail with blank rows.
    st.dataframe(frame, hide_index=True, width="stretch")
    if len(story.audit) >= story.audit_limit:
        st.caption(f"The latest {story.audit_limit} entries; the Audit log page has the rest.")
    # The file keeps the Audit log page's column names and JSON before/after, for tools that read it.
    raw = pd.DataFrame([{"at": a.at, "actor": a.actor, "actor_role": a.actor_role, "action": a.action,
                         "outcome": a.outcome, "reason": a.reason, "target": a.target,
                         "before": _json(a.before), "after": _json(a.after)} for a in story.audit])
    csv_download(raw, f"audit_{story.tenant.slug}.csv", key=f"audit_csv_{story.tenant.slug}")


def _json(value: object) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True, default=str, separators=(", ", ": "))
