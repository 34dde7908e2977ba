"""Review governance in the API: the checklist, an article's approvals, its evidence pack."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from articles.models import Article
from reviewsite.api import PageNumberPagination
from reviewsite.roles import is_staff_member
from workflows.evidence_pack import approval_data, approvals_of, evidence_pack
from workflows.models import ChecklistItem


def _require_staff(request) -> None:
    if not request.user.is_authenticated:
        raise NotAuthenticated()
    if not is_staff_member(request.user):
        raise PermissionDenied("Only editorial staff may see the review record.")


class ChecklistItemSerializer(serializers.ModelSerializer):
    audiences = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = ChecklistItem
        fields = ["key", "text", "required", "audiences"]


class ApprovalSerializer(serializers.Serializer):
    """An approval or re-certification (schema; rows are built by ``approval_data``)."""

    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["approval", "recertification"])
    revision = serializers.IntegerField()
    revision_number = serializers.IntegerField()
    content_hash = serializers.CharField()
    reviewer = serializers.IntegerField()
    reviewer_username = serializers.CharField()
    at = serializers.DateTimeField()
    comment = serializers.CharField()
    checklist = serializers.ListField(child=serializers.DictField())
    conflict_of_interest = serializers.DictField()
    credentials = serializers.DictField()
    evidence = serializers.ListField(child=serializers.DictField())


class ChecklistView(APIView):
    """GET /api/v1/checklist/: the active checklist items (staff)."""

    permission_classes = [AllowAny]  # checked below, so anonymous gets 401 and readers 403

    @extend_schema(responses=ChecklistItemSerializer(many=True))
    def get(self, request):
        _require_staff(request)
        items = ChecklistItem.objects.active()
        return Response(ChecklistItemSerializer(items, many=True).data)


class ApprovalListView(APIView):
    """GET /api/v1/articles/{id}/approvals/: approvals and re-certifications (staff)."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: ApprovalSerializer(many=True),
            403: OpenApiResponse(description="Not editorial staff"),
        }
    )
    def get(self, request, pk: int):
        _require_staff(request)
        article = get_object_or_404(Article.objects.only("id"), pk=pk)
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(approvals_of(article), request, view=self)
        return paginator.get_paginated_response([approval_data(a) for a in page])


class EvidencePackView(APIView):
    """GET /api/v1/articles/{id}/evidence-pack/: the accreditation evidence pack (staff)."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: OpenApiResponse(description="The evidence pack (JSON)")})
    def get(self, request, pk: int):
        _require_staff(request)
        get_object_or_404(Article.objects.only("id"), pk=pk)
        return Response(evidence_pack(article_id=pk))
