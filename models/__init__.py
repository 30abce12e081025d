"""The service's tables, one module per aggregate, re-exported here."""

from models.api_request import ApiRequest
from models.attachment import Attachment, AttachmentStatus
from models.base import UTCDateTime, utcnow
from models.broadcast import Broadcast, BroadcastStatus
from models.catalog import Adviser, Campaign, Document, Product, ProductKind, ProductType, Store
from models.chat import (
    Coupon,
    CouponCampaign,
    CouponStatus,
    Dialog,
    LinkNonce,
    Referral,
    ReferralCode,
    RequestStatus,
    ServiceRequest,
)
from models.contract import CampaignBenefit, ConsentEvent, ContractSummary, LineMembership
from models.customer import Customer, CustomerActivity, CustomerChannels, Gender
from models.enrollment import (
    SENDABLE,
    SENT_OR_DELIVERED,
    UNSETTLED,
    DataChange,
    Delivery,
    DeliveryStatus,
    Enrollment,
    EnrollmentStatus,
    ScenarioControl,
    TraceEntry,
    TriggerRun,
)
from models.handover import (
    ACTIVE_HANDOVER,
    Handover,
    HandoverMessage,
    HandoverStatus,
    StaffAccount,
    StaffRole,
)
from models.journey import DocumentRequest, PageView, Quote, Reservation
from models.line_user import FriendStatus, LineUser
from models.outbound import OutboundEvent, OutboundStatus
from models.privacy import PrivacyKind, PrivacyRequest, PrivacyStatus
from models.rich_menu import RichMenu
from models.security import LinkToken, SecurityEvent, VerificationCode
from models.staff import AdminAudit, NoticeStatus, StaffNotice
from models.webhook_event import EventStatus, WebhookEvent

__all__ = [
    "ACTIVE_HANDOVER",
    "SENDABLE",
    "SENT_OR_DELIVERED",
    "UNSETTLED",
    "AdminAudit",
    "Adviser",
    "ApiRequest",
    "Attachment",
    "AttachmentStatus",
    "Broadcast",
    "BroadcastStatus",
    "Campaign",
    "CampaignBenefit",
    "ConsentEvent",
    "ContractSummary",
    "Coupon",
    "CouponCampaign",
    "CouponStatus",
    "Customer",
    "CustomerActivity",
    "CustomerChannels",
    "DataChange",
    "Delivery",
    "DeliveryStatus",
    "Dialog",
    "Document",
    "DocumentRequest",
    "Enrollment",
    "EnrollmentStatus",
    "EventStatus",
    "FriendStatus",
    "Gender",
    "Handover",
    "HandoverMessage",
    "HandoverStatus",
    "LineMembership",
    "LineUser",
    "LinkNonce",
    "LinkToken",
    "NoticeStatus",
    "OutboundEvent",
    "OutboundStatus",
    "PageView",
    "PrivacyKind",
    "PrivacyRequest",
    "PrivacyStatus",
    "Product",
    "ProductKind",
    "ProductType",
    "Quote",
    "Referral",
    "ReferralCode",
    "RequestStatus",
    "Reservation",
    "RichMenu",
    "ScenarioControl",
    "SecurityEvent",
    "ServiceRequest",
    "StaffAccount",
    "StaffNotice",
    "StaffRole",
    "Store",
    "TraceEntry",
    "TriggerRun",
    "UTCDateTime",
    "VerificationCode",
    "WebhookEvent",
    "utcnow",
]
