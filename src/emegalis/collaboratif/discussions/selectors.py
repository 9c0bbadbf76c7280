"""Reads of the discussions, with unread markers."""

from django.db.models import QuerySet
from django.http import Http404

from emegalis.organisations.models import User

from ..models import ReadMarker, Thread, Workspace


def threads_of(user: User, workspace: Workspace) -> list[tuple[Thread, bool]]:
    """The workspace's threads, newest activity first, each with whether it is unread."""
    read = dict(
        ReadMarker.objects.filter(user=user, thread__workspace=workspace).values_list(
            "thread_id", "read_at"
        )
    )
    return [
        (thread, thread.pk not in read or read[thread.pk] < thread.last_post_at)
        for thread in workspace.threads.select_related("created_by")
    ]


def unread_count(user: User, workspace: Workspace) -> int:
    return sum(1 for _, unread in threads_of(user, workspace) if unread)


def get_thread(workspaces: QuerySet[Workspace], pk) -> Thread:
    try:
        return Thread.objects.select_related("workspace").get(pk=pk, workspace__in=workspaces)
    except (Thread.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("Discussion introuvable.") from None


def posts_of(thread: Thread):
    return thread.posts.select_related("author").prefetch_related("mentions", "documents")
