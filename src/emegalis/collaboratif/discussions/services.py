"""Writes of the discussions, and the e-mails they send: at once to the members who chose it
(and to anyone mentioned), or in a daily digest. An e-mail goes only to members of the
workspace when it leaves, and names linked documents without attaching them."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from emegalis.core import clock
from emegalis.organisations.models import User

from .. import access
from ..models import Document, Member, Notify, Post, ReadMarker, Thread, Workspace
from ..services import journal_entry

EXCERPT = 1000


def _clean_body(body: str) -> str:
    body = str(body or "").strip()
    if not body:
        raise ValidationError({"body": "Le message est vide."})
    if len(body) > 20000:
        raise ValidationError({"body": "Le message dépasse 20 000 caractères."})
    return body


def _check_links(workspace: Workspace, mentions, documents) -> tuple[list[User], list[Document]]:
    members = set(workspace.members.values_list("user_id", flat=True))
    mentions, documents = list(mentions or []), list(documents or [])
    if any(user.pk not in members for user in mentions):
        raise ValidationError({"mentions": "On ne mentionne que des membres de l'espace."})
    if any(d.workspace_id != workspace.pk or d.trashed_at for d in documents):
        raise ValidationError({"documents": "Les documents liés sont ceux de l'espace."})
    return mentions, documents


def _thread_url(thread: Thread) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("collaboratif_thread", args=[thread.pk])


def _notify(post: Post) -> None:
    thread = post.thread
    workspace = thread.workspace
    mentioned = {u.pk for u in post.mentions.all()}
    author = post.author.get_full_name() or post.author.email if post.author else "Un membre"
    links = "".join(f"\n- {d.name}" for d in post.documents.all())
    excerpt = post.body[:EXCERPT] + ("…" if len(post.body) > EXCERPT else "")

    def send():
        # Who is a member now: someone removed meanwhile gets nothing.
        for member in Member.objects.filter(workspace=workspace).select_related("user"):
            if member.user_id == post.author_id or not member.user.is_active:
                continue
            if member.user_id in mentioned:
                subject = f"{author} vous mentionne — {thread.title}"
            elif member.notify == Notify.IMMEDIATE:
                subject = f"Nouveau message — {thread.title}"
            else:
                continue
            body = (
                f"{author} a écrit dans « {thread.title} » (espace « {workspace.name} ») :\n\n"
                f"{excerpt}\n"
                + (f"\nDocuments liés :{links}\n" if links else "")
                + f"\nLire et répondre : {_thread_url(thread)}\n"
            )
            send_mail(subject, body, None, [member.user.email])

    transaction.on_commit(send)


def _post(actor, thread, body, mentions, documents) -> Post:
    now = clock.now()
    post = Post.objects.create(thread=thread, author=actor, body=body, created_at=now)
    post.mentions.set(mentions)
    post.documents.set(documents)
    Thread.objects.filter(pk=thread.pk).update(last_post_at=now)
    ReadMarker.objects.update_or_create(thread=thread, user=actor, defaults={"read_at": now})
    _notify(post)
    return post


@transaction.atomic
def start_thread(
    *, actor: User, workspace: Workspace, title: str, body: str, mentions=(), documents=()
) -> Thread:
    workspace = Workspace.objects.select_for_update().get(pk=workspace.pk)
    access.require_writer(actor, workspace)
    title = " ".join(str(title or "").split())
    if not title or len(title) > 200:
        raise ValidationError({"title": "Le sujet a de 1 à 200 caractères."})
    body = _clean_body(body)
    mentions, documents = _check_links(workspace, mentions, documents)
    now = clock.now()
    thread = Thread.objects.create(
        workspace=workspace, title=title, created_by=actor, created_at=now, last_post_at=now
    )
    _post(actor, thread, body, mentions, documents)
    journal_entry("thread_started", actor=actor, workspace=workspace, target=thread, title=title)
    return thread


@transaction.atomic
def reply(*, actor: User, thread: Thread, body: str, mentions=(), documents=()) -> Post:
    thread = Thread.objects.select_for_update().select_related("workspace").get(pk=thread.pk)
    access.require_writer(actor, thread.workspace)
    body = _clean_body(body)
    mentions, documents = _check_links(thread.workspace, mentions, documents)
    post = _post(actor, thread, body, mentions, documents)
    journal_entry("replied", actor=actor, workspace=thread.workspace, target=thread, post=post.pk)
    return post


def mark_read(*, actor: User, thread: Thread) -> None:
    ReadMarker.objects.update_or_create(
        thread=thread, user=actor, defaults={"read_at": clock.now()}
    )


@transaction.atomic
def set_notify(*, actor: User, workspace: Workspace, notify: str) -> Member:
    member = access.require_member(actor, workspace)
    if notify not in Notify.values:
        raise ValidationError({"notify": "Choix inconnu."})
    member.notify = notify
    member.save(update_fields=["notify"])
    return member


def send_digests() -> int:
    """Once a day (the scheduler): to each member who chose the digest, the messages of its
    workspaces it has not had yet. Returns the number of e-mails sent."""
    sent = 0
    for member in Member.objects.filter(notify=Notify.DIGEST).select_related("user", "workspace"):
        with transaction.atomic():
            member = Member.objects.select_for_update().get(pk=member.pk)
            since = member.digest_sent_at or member.joined_at
            now = clock.now()
            posts = (
                Post.objects.filter(
                    thread__workspace_id=member.workspace_id,
                    created_at__gt=since,
                    created_at__lte=now,
                )
                .exclude(author_id=member.user_id)
                .select_related("thread", "author")
            )
            lines = [
                f"- « {p.thread.title} », {p.author.get_full_name() if p.author else ''} : "
                f"{p.body[:200]}"
                for p in posts
            ]
            member.digest_sent_at = now
            member.save(update_fields=["digest_sent_at"])
            if lines and member.user.is_active:
                workspace = member.workspace
                body = (
                    f"Les messages du jour dans l'espace « {workspace.name} » :\n\n"
                    + "\n".join(lines)
                    + "\n\nPour les lire : "
                    + settings.SITE_URL.rstrip("/")
                    + reverse("collaboratif_threads", args=[workspace.pk])
                    + "\n"
                )
                address = member.user.email
                transaction.on_commit(
                    lambda b=body, a=address, w=workspace.name: send_mail(
                        f"Résumé des discussions — {w}", b, None, [a]
                    )
                )
                sent += 1
    return sent
