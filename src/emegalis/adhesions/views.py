from django.contrib.auth.decorators import login_required
from django.http import HttpResponse


@login_required
def organisation_conventions(request, pk: int):
    return HttpResponse("TODO")


@login_required
def organisation_contributions(request, pk: int):
    return HttpResponse("TODO")


@login_required
def operator_members(request):
    return HttpResponse("TODO")
