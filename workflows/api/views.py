"""The article API: list, create, detail with ETag, PATCH with If-Match, actions, history."""

import hashlib
import json

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated, NotFound, PermissionDenied
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.response import Response

from articles.api.serializers import RevisionSerializer
from articles.claims import CLAIM_COLUMNS
from articles.models import (
    Article,
    ArticleRevision,
    RevisionCitation,
    revision_shown_to,
    sees_working_copies,
)
from reviewsite.roles import is_managing_editor, is_reviewer, is_staff_member
from workflows import services
from workflows.models import ReviewAssignment
from workflows.review_record import submit_warning
from workflows.transitions import API_ACTIONS

from .filters import ArticleFilter
from .serializers import (
    ActionInput,
    ArticleCreateInput,
    ArticleDetailSerializer,
    ArticleEditInput,
    ArticleSerializer,
    AssignReviewersInput,
    AuditEventSerializer,
    ReaderArticleDetailSerializer,
    ReaderArticleSerializer,
    TransitionErrorSerializer,
    reject_unknown_fields,
)


def article_queryset(user, base=None):
    """Visible articles, with everything the representation needs in constant queries."""
    shown = revision_shown_to(user)
    if base is None:
        base = Article.objects.visible_to(user).order_by("-last_updated", "-id")
    return base.select_related(shown).prefetch_related(
        Prefetch(
            f"{shown}__citations",
            # The sources' status (one JOIN, no query) tells whether claims are affected.
            queryset=RevisionCitation.objects.select_related("source").only(*CLAIM_COLUMNS),
        ),
        Prefetch(
            "review_assignments",
            queryset=ReviewAssignment.objects.select_related(
                "reviewer", "reviewer__reviewer_profile"
            ),
        ),
    )


def _etag(user, article: Article, data) -> str:
    """Staff: the working copy's version (what If-Match names). Readers: a digest of what
    they were sent, so the tag never moves when only the working copy changes."""
    if sees_working_copies(user):
        return article.etag
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f'"live-{digest[:32]}"'


_ERRORS = {
    400: OpenApiResponse(description="Invalid input, with field messages"),
    403: OpenApiResponse(description="Not allowed for your role"),
    404: OpenApiResponse(description="No such article, or not visible to you"),
}


class ArticleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Articles visible to the caller; writes go through workflows.services."""

    serializer_class = ArticleSerializer
    permission_classes = [IsAuthenticatedOrReadOnly]
    filterset_class = ArticleFilter

    def get_queryset(self):
        return article_queryset(self.request.user)

    def get_serializer_class(self):
        # One article (detail, and the answer to a write) also lists its affected claims.
        detail = self.action != "list"
        if sees_working_copies(self.request.user):
            return ArticleDetailSerializer if detail else ArticleSerializer
        return ReaderArticleDetailSerializer if detail else ReaderArticleSerializer

    @extend_schema(responses=ArticleDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        article = self.get_object()
        data = self.get_serializer(article).data
        etag = _etag(request.user, article, data)
        if request.headers.get("If-None-Match") == etag:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return Response(data, headers={"ETag": etag})

    def _respond(self, article_id: int, code=status.HTTP_200_OK) -> Response:
        article = get_object_or_404(self.get_queryset(), pk=article_id)
        data = self.get_serializer(article).data
        return Response(
            data, status=code, headers={"ETag": _etag(self.request.user, article, data)}
        )

    @extend_schema(request=ArticleCreateInput, responses={201: ArticleSerializer, **_ERRORS})
    def create(self, request, *args, **kwargs):
        reject_unknown_fields(ArticleCreateInput, request.data)
        data = ArticleCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        article = services.article_create(
            actor=request.user,
            intentional=values.pop("intentional_citations"),
            **values,
        )
        return self._respond(article.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=ArticleEditInput,
        parameters=[OpenApiParameter("If-Match", str, OpenApiParameter.HEADER, required=False)],
        responses={
            200: ArticleSerializer,
            412: OpenApiResponse(description="If-Match does not match the current ETag"),
            409: TransitionErrorSerializer,
            **_ERRORS,
        },
    )
    def partial_update(self, request, *args, **kwargs):
        article = self.get_object()
        reject_unknown_fields(ArticleEditInput, request.data)
        data = ArticleEditInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.article_edit(
            article_id=article.pk,
            actor=request.user,
            changes=dict(data.validated_data),
            expected_version=article.versions_matching(request.headers.get("If-Match")),
        )
        return self._respond(article.pk)

    @extend_schema(
        request=ActionInput,
        parameters=[
            OpenApiParameter("action_name", str, OpenApiParameter.PATH, enum=list(API_ACTIONS))
        ],
        responses={
            200: ArticleDetailSerializer,
            409: TransitionErrorSerializer,
            405: OpenApiResponse(
                description="The name is another resource of the article (history, "
                "revisions, approvals, evidence-pack), which takes GET"
            ),
            **_ERRORS,
        },
        operation_id="v1_articles_action",
        summary="Run a workflow action: submit, withdraw, start-review, approve, "
        "request-changes, recertify, archive, restore",
    )
    def transition(self, request, pk=None, action_name=None):
        if action_name not in API_ACTIONS:
            raise NotFound(f"Unknown action {action_name!r}; one of {', '.join(API_ACTIONS)}.")
        article = self.get_object()
        data = ActionInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.article_act(
            article_id=article.pk,
            action=action_name,
            actor=request.user,
            comment=data.validated_data["comment"],
            checklist=data.validated_data["checklist"],
            conflict_of_interest=data.validated_data["conflict_of_interest"],
        )
        response = self._respond(article.pk)
        if action_name == "submit":
            # A readability warning never refuses the submit; the client is told.
            submitted = Article.objects.select_related("latest_revision").get(pk=article.pk)
            warning = submit_warning(submitted)
            response.data["warnings"] = [warning] if warning else []
        return response

    def _staff_object(self):
        if not self.request.user.is_authenticated:
            raise NotAuthenticated()
        article = self.get_object()
        if not is_staff_member(self.request.user):
            raise PermissionDenied("Only editorial staff may see revisions and history.")
        return article

    @extend_schema(responses=RevisionSerializer(many=True))
    @action(detail=True, methods=["get"])
    def revisions(self, request, pk=None):
        article = self._staff_object()
        queryset = (
            ArticleRevision.objects.filter(article=article)
            .select_related("author")
            .prefetch_related("citations")
            .order_by("-number")
        )
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(RevisionSerializer(page, many=True).data)

    @extend_schema(responses=AuditEventSerializer(many=True))
    @action(detail=True, methods=["get"])
    def history(self, request, pk=None):
        article = self._staff_object()
        queryset = article.audit_events.select_related("actor").order_by("at", "id")
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(AuditEventSerializer(page, many=True).data)

    @extend_schema(request=AssignReviewersInput, responses={200: ArticleSerializer, **_ERRORS})
    @action(detail=True, methods=["post"])
    def reviewers(self, request, pk=None):
        article = self.get_object()
        data = AssignReviewersInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.article_assign_reviewers(
            article_id=article.pk, reviewer_ids=data.validated_data["reviewers"], actor=request.user
        )
        return self._respond(article.pk)


class ReviewQueueView(ListAPIView):
    """GET /api/v1/review-queue/: submitted, under review, overdue, retraction-flagged."""

    serializer_class = ArticleSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        from workflows.selectors import review_queue

        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Article.objects.none()
        user = self.request.user
        if not (is_reviewer(user) or is_managing_editor(user)):
            raise PermissionDenied("The review queue is for Reviewers and Managing editors.")
        return article_queryset(user, base=review_queue(user=user))
