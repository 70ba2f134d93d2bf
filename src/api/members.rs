//! `/api/v1/members`: an organization's memberships.

use poem_openapi::{
    Object, OpenApi,
    param::{Header, Query},
    types::Example,
};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::{
    ApiTags,
    errors::{
        ErrorResponse,
        docs::{E400_LIST, E401, E403_ORG_MEMBER, E429, E500, E503},
        error_set,
    },
    examples,
    responses::ok_response,
    types::{Email, OrgId, PageMeta, Role, Timestamp, default_limit, default_page, paging},
};
use crate::{
    auth::OrgMember, entity::organization_member as member, routes::KnownQuery, service::members,
};

/// A user's membership in an organization.
#[derive(Object, Clone, Debug)]
#[oai(rename = "Member", rename_all = "camelCase", example)]
pub struct MemberDto {
    /// The organization.
    pub organization_id: Uuid,
    /// The member's user id (the `sub` of their tokens).
    pub user_id: String,
    /// The member's email, lower-cased.
    pub email: Email,
    /// The member's role in the organization.
    pub role: Role,
    /// When the membership was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl From<member::Model> for MemberDto {
    fn from(m: member::Model) -> Self {
        Self {
            organization_id: m.organization_id,
            user_id: m.user_id,
            email: Email(m.email),
            role: m.role.into(),
            created_at: Timestamp(m.created_at),
            updated_at: Timestamp(m.updated_at),
        }
    }
}

impl Example for MemberDto {
    fn example() -> Self {
        Self {
            organization_id: examples::ORG_ID,
            user_id: examples::USER_ID.to_owned(),
            email: Email(examples::NEW_EMAIL.to_owned()),
            role: Role::Operator,
            created_at: Timestamp::example_at(examples::TIMESTAMP),
            updated_at: Timestamp::example_at(examples::TIMESTAMP),
        }
    }
}

/// One page of members.
#[derive(Object, Clone, Debug)]
#[oai(rename = "MemberPage", example)]
pub struct MemberPage {
    /// The members on this page, oldest membership first.
    pub data: Vec<MemberDto>,
    /// Paging information.
    pub meta: PageMeta,
}

impl Example for MemberPage {
    fn example() -> Self {
        Self {
            data: vec![MemberDto::example()],
            meta: PageMeta::example(),
        }
    }
}

ok_response!(
    /// A page of members.
    ListMembersResponse(MemberPage),
    "The requested page and its paging information."
);

error_set!(ListMembersErrors: [E400_LIST, E401, E403_ORG_MEMBER, E429, E500, E503]);

/// The members resource.
pub struct MembersApi {
    pub db: DatabaseConnection,
}

#[OpenApi(prefix_path = "/api/v1", tag = "ApiTags::Members")]
impl MembersApi {
    /// List members
    ///
    /// Lists the organization's members, oldest membership first (then by user id), one page
    /// at a time. Any member of the organization (or a super admin) may list them.
    #[oai(path = "/members", method = "get", operation_id = "listMembers")]
    async fn list(
        &self,
        auth: OrgMember,
        _known: KnownQuery,
        /// The UUID of the organization to act on.
        #[oai(name = "x-org-id")]
        _org: Header<OrgId>,
        /// Page number, starting at 1.
        #[oai(
            default = "default_page",
            example = "default_page",
            validator(minimum(value = "1"), maximum(value = "2147483647"))
        )]
        page: Query<i64>,
        /// Page size, 1 to 100.
        #[oai(
            default = "default_limit",
            example = "default_limit",
            validator(minimum(value = "1"), maximum(value = "100"))
        )]
        limit: Query<i64>,
    ) -> Result<ListMembersResponse, ErrorResponse<ListMembersErrors>> {
        let (page, limit) = paging(page.0, limit.0);
        let (items, total) = members::list(&self.db, auth.0.organization_id, page, limit).await?;
        Ok(ListMembersResponse(MemberPage {
            data: items.into_iter().map(Into::into).collect(),
            meta: PageMeta::new(page, limit, total),
        }))
    }
}
