"""Discussions: threads and replies, mentions, linked documents, e-mails at once or in a daily
digest (never to someone no longer a member), unread markers, and no writing for a lecteur."""

from io import BytesIO

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from emegalis.collaboratif import services
from emegalis.collaboratif.discussions import selectors
from emegalis.collaboratif.discussions import services as discussions

from .helpers import join, side, workspace_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    owner = side()
    workspace = workspace_of(owner)
    immediate, digest, quiet = side(), side(), side()
    for who in (immediate, digest, quiet):
        join(workspace, owner.agent, who)
    discussions.set_notify(actor=digest.agent, workspace=workspace, notify="resume")
    discussions.set_notify(actor=quiet.agent, workspace=workspace, notify="aucun")
    return owner, workspace, immediate, digest, quiet


def test_e_mails_follow_each_members_choice_and_mentions_always_reach(
    team, django_capture_on_commit_callbacks
):
    owner, workspace, immediate, digest, quiet = team
    document = services.upload(
        actor=owner.agent,
        workspace=workspace,
        folder=None,
        name="ordre-du-jour.odt",
        content=BytesIO(b"odj"),
    ).document
    with django_capture_on_commit_callbacks(execute=True):
        thread = discussions.start_thread(
            actor=owner.agent,
            workspace=workspace,
            title="Groupement papier 2027",
            body="Qui participe au groupement cette année ?",
            mentions=[quiet.agent],
            documents=[document],
        )
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {immediate.agent.email, quiet.agent.email}
    assert "vous mentionne" in by_address[quiet.agent.email].subject
    message = by_address[immediate.agent.email]
    assert "Qui participe" in message.body and "ordre-du-jour.odt" in message.body
    assert not message.attachments  # documents are named, never attached
    # The digest, once a day: the day's messages, then nothing more.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert discussions.send_digests() == 1
    (summary,) = mail.outbox
    assert summary.to == [digest.agent.email] and "Groupement papier 2027" in summary.body
    with django_capture_on_commit_callbacks(execute=True):
        assert discussions.send_digests() == 0
    # A member removed no longer hears of anything.
    services.remove_member(actor=owner.agent, member=workspace.members.get(user=immediate.agent))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        discussions.reply(actor=owner.agent, thread=thread, body="Relance")
    assert immediate.agent.email not in [m.to[0] for m in mail.outbox]


def test_unread_markers_and_a_lecteur_reads_without_writing(client, login, team):
    owner, workspace, immediate, *_ = team
    reader = side()
    join(workspace, owner.agent, reader, role="lecteur")
    thread = discussions.start_thread(
        actor=owner.agent, workspace=workspace, title="Calendrier", body="Dates à fixer"
    )
    assert selectors.unread_count(immediate.agent, workspace) == 1
    assert selectors.unread_count(owner.agent, workspace) == 0
    login(immediate.agent)
    assert "Dates à fixer" in client.get(f"/collaboratif/discussions/{thread.pk}/").content.decode()
    assert selectors.unread_count(immediate.agent, workspace) == 0
    with pytest.raises(PermissionDenied, match="lecteur"):
        discussions.reply(actor=reader.agent, thread=thread, body="moi aussi")
    client.logout()
    login(reader.agent)
    client.post(f"/collaboratif/discussions/{thread.pk}/", {"body": "moi aussi"})
    assert thread.posts.count() == 1
    outsider = side()
    client.logout()
    login(outsider.agent)
    assert client.get(f"/collaboratif/discussions/{thread.pk}/").status_code == 404
