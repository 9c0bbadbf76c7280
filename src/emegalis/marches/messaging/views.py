"""Pages of the secure messaging between a consultation's buyer and each bidder.

Thin: messaging_selectors read (scoped, 404 outside the user's scope), messaging writes
(permission, validation, journal, e-mail notice), forms_messaging validates the input."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from emegalis.core.downloads import attachment
from emegalis.core.forms import add_service_errors
from emegalis.marches.consultations import selectors as consultations_selectors
from emegalis.marches.messaging import selectors, services
from emegalis.marches.messaging.forms import BuyerMessageForm, CompanyMessageForm, ReplyForm
from emegalis.marches.messaging.models import MessageDirection
from emegalis.marches.upload_limits import install_limit


def upload_capped(view):
    """Stop reading an attachment as soon as it passes the cap, instead of writing the whole
    upload to a temporary file first. The handler must be in place before the body is parsed,
    hence the CSRF check moved from the middleware into this wrapper."""
    protected = csrf_protect(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method == "POST":
            request.attachment_limiter = install_limit(request, services.attachment_max_bytes())
        return protected(request, *args, **kwargs)

    return csrf_exempt(wrapper)


def _valid(request, form) -> bool:
    """The form is valid and no attachment was cut at the cap."""
    valid = form.is_valid()
    limiter = getattr(request, "attachment_limiter", None)
    if limiter is not None and limiter.exceeded:
        form.add_error("attachment", services.attachment_too_big())
        return False
    return valid


def _private(response):
    """Message pages and attachments are never kept by shared caches."""
    response["Cache-Control"] = "private, no-store"
    return response


def _attachment(message):
    return _private(
        attachment(message.attachment, message.attachment_name, missing="Pièce jointe introuvable.")
    )


@upload_capped
@login_required
def buyer_messages(request, pk: int):
    """The bidders of a consultation with their threads, the form to write to one or all, and
    the messages sent with their read receipts."""
    consultation = consultations_selectors.get_buyer_consultation(request.user, pk)
    bidders = list(selectors.bidders(consultation))
    status = 200
    if request.method == "POST":
        form = BuyerMessageForm(request.POST, request.FILES, bidders=bidders)
        if _valid(request, form):
            try:
                count = _send_from_buyer(request.user, consultation, form)
            except (ValidationError, PermissionDenied) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request,
                    f"Message envoyé à {count} entreprise{'s' if count > 1 else ''}"
                    " ; chacune est prévenue par courriel.",
                )
                return redirect("marches_buyer_messages", pk=pk)
        status = 400
    else:
        form = BuyerMessageForm(bidders=bidders)
    sent = consultations_selectors.paginate(
        selectors.buyer_sent_messages(consultation), request.GET.get("page")
    )
    return _private(
        render(
            request,
            "marches/messages_buyer.html",
            {
                "consultation": consultation,
                "threads": selectors.buyer_threads(consultation),
                "form": form,
                "page": sent,
            },
            status=status,
        )
    )


def _send_from_buyer(user, consultation, form: BuyerMessageForm) -> int:
    fields = {
        "actor": user,
        "consultation": consultation,
        "subject": form.cleaned_data["subject"],
        "body": form.cleaned_data["body"],
        **form.attachment_kwargs(),
    }
    if form.to_all:
        return len(services.send_to_bidders(**fields))
    services.send_message(company=form.company(), direction=MessageDirection.TO_COMPANY, **fields)
    return 1


@upload_capped
@login_required
def buyer_thread(request, pk: int, company_pk: int):
    """One bidder's exchange, both directions in order; opening it records the read receipt
    of the company's messages; the reply form writes to that company."""
    consultation, company = selectors.get_buyer_thread_company(request.user, pk, company_pk)
    status = 200
    if request.method == "POST":
        form = ReplyForm(request.POST, request.FILES)
        if _valid(request, form):
            last_reply = selectors.from_company(consultation, company).last()
            try:
                services.send_message(
                    actor=request.user,
                    consultation=consultation,
                    company=company,
                    direction=MessageDirection.TO_COMPANY,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    in_reply_to=last_reply,
                    **form.attachment_kwargs(),
                )
            except (ValidationError, PermissionDenied) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Message envoyé à {company.name}.")
                return redirect("marches_buyer_thread", pk=pk, company_pk=company_pk)
        status = 400
    else:
        form = None
    services.mark_thread_read(actor=request.user, consultation=consultation, company=company)
    thread = list(selectors.thread(consultation, company))
    if form is None:
        form = ReplyForm(replying_to=thread[-1] if thread else None)
    return _private(
        render(
            request,
            "marches/messages_buyer_thread.html",
            {"consultation": consultation, "company": company, "thread": thread, "form": form},
            status=status,
        )
    )


@login_required
def buyer_attachment(request, pk: int, message_pk: int):
    message = selectors.get_buyer_message(request.user, pk, message_pk)
    response = _attachment(message)
    services.mark_read(actor=request.user, message=message)
    return response


@upload_capped
@login_required
def company_messages(request):
    """Every message of the user's companies, across consultations, unread ones first seen;
    a form to write first to the buyer of a consultation where the company has a pli."""
    threads = selectors.writable_threads(request.user)
    status = 200
    if request.method == "POST":
        form = CompanyMessageForm(request.POST, request.FILES, threads=threads)
        if _valid(request, form):
            consultation, company = form.consultation_and_company()
            try:
                services.send_message(
                    actor=request.user,
                    consultation=consultation,
                    company=company,
                    direction=MessageDirection.TO_BUYER,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    **form.attachment_kwargs(),
                )
            except (ValidationError, PermissionDenied) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"Message envoyé à {consultation.organisation.name}.")
                return redirect("marches_company_messages")
        status = 400
    else:
        form = CompanyMessageForm(threads=threads)
    page = consultations_selectors.paginate(
        selectors.company_messages(request.user), request.GET.get("page")
    )
    return _private(
        render(
            request,
            "marches/messages_company.html",
            {
                "page": page,
                "unread": selectors.company_unread_count(request.user),
                "several_companies": selectors.member_companies(request.user).count() > 1,
                "form": form if threads else None,
            },
            status=status,
        )
    )


@upload_capped
@login_required
def company_message(request, message_pk: int):
    """One message: opening it by a user of the company is its read receipt; the thread and
    a reply to the buyer."""
    message = selectors.get_company_message(request.user, message_pk)
    message = services.mark_read(actor=request.user, message=message)
    status = 200
    if request.method == "POST":
        form = ReplyForm(request.POST, request.FILES)
        if _valid(request, form):
            try:
                services.send_message(
                    actor=request.user,
                    consultation=message.consultation,
                    company=message.company,
                    direction=MessageDirection.TO_BUYER,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    in_reply_to=message,
                    **form.attachment_kwargs(),
                )
            except (ValidationError, PermissionDenied) as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "Réponse envoyée à l'acheteur.")
                return redirect("marches_company_message", message_pk=message.pk)
        status = 400
    else:
        form = ReplyForm(replying_to=message)
    return _private(
        render(
            request,
            "marches/messages_company_detail.html",
            {
                "message": message,
                "consultation": message.consultation,
                "thread": selectors.thread(message.consultation, message.company),
                "form": form,
            },
            status=status,
        )
    )


@login_required
def company_attachment(request, message_pk: int):
    message = selectors.get_company_message(request.user, message_pk)
    response = _attachment(message)
    services.mark_read(actor=request.user, message=message)
    return response
