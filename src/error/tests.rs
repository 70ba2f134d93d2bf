//! The envelope of every `ApiError` variant.

use super::*;

/// One value of every variant, with the status, phrase and code the contract gives it.
fn every_error() -> Vec<(ApiError, u16, &'static str, ErrorCode)> {
    use ErrorCode as C;
    let any = || anyhow::anyhow!("cause");
    vec![
        (
            ApiError::BadRequest("x".into()),
            400,
            "Bad Request",
            C::BadRequest,
        ),
        (
            ApiError::validation("a: b"),
            400,
            "Bad Request",
            C::ValidationError,
        ),
        (
            ApiError::InvalidUuid("id"),
            400,
            "Bad Request",
            C::InvalidUuid,
        ),
        (
            ApiError::Unauthorized("x"),
            401,
            "Unauthorized",
            C::Unauthorized,
        ),
        (ApiError::Forbidden("x"), 403, "Forbidden", C::Forbidden),
        (
            ApiError::OrgContextRequired,
            403,
            "Forbidden",
            C::OrgContextRequired,
        ),
        (
            ApiError::OrgMembershipRequired,
            403,
            "Forbidden",
            C::OrgMembershipRequired,
        ),
        (
            ApiError::InsufficientOrgPermissions,
            403,
            "Forbidden",
            C::InsufficientOrgPermissions,
        ),
        (
            ApiError::InvitationNotFound,
            404,
            "Not Found",
            C::InvitationNotFound,
        ),
        (
            ApiError::NotFound {
                method: "GET".into(),
                path: "/x".into(),
            },
            404,
            "Not Found",
            C::NotFound,
        ),
        (
            ApiError::Conflict {
                message: CONFLICT_PENDING_EXISTS,
                invitation_id: None,
            },
            409,
            "Conflict",
            C::Conflict,
        ),
        (ApiError::AlreadyAMember, 409, "Conflict", C::AlreadyAMember),
        (
            ApiError::InvitationTokenMissing,
            400,
            "Bad Request",
            C::InvitationTokenMissing,
        ),
        (
            ApiError::InvitationExpired,
            403,
            "Forbidden",
            C::InvitationExpired,
        ),
        (
            ApiError::InvitationAlreadyAccepted,
            409,
            "Conflict",
            C::InvitationAlreadyAccepted,
        ),
        (
            ApiError::InvitationEmailMismatch,
            403,
            "Forbidden",
            C::InvitationEmailMismatch,
        ),
        (
            ApiError::TooManyRequests {
                retry_after_secs: 3,
            },
            429,
            "Too Many Requests",
            C::TooManyRequests,
        ),
        (
            ApiError::ServiceUnavailable(any()),
            503,
            "Service Unavailable",
            C::ServiceUnavailable,
        ),
        (
            ApiError::Internal(any()),
            500,
            "Internal Server Error",
            C::InternalServerError,
        ),
        (
            ApiError::MethodNotAllowed { allow: None },
            405,
            "Method Not Allowed",
            C::MethodNotAllowed,
        ),
        (
            ApiError::PayloadTooLarge,
            413,
            "Payload Too Large",
            C::PayloadTooLarge,
        ),
        (
            ApiError::UnsupportedMediaType("x".into()),
            415,
            "Unsupported Media Type",
            C::UnsupportedMediaType,
        ),
        (
            ApiError::ResendCooldown {
                retry_after_secs: 7,
            },
            429,
            "Too Many Requests",
            C::TooManyRequests,
        ),
        (
            ApiError::IdempotencyKeyReused,
            422,
            "Unprocessable Entity",
            C::IdempotencyKeyReused,
        ),
        (
            ApiError::IdempotencyKeyInUse,
            409,
            "Conflict",
            C::IdempotencyKeyInUse,
        ),
    ]
}

#[test]
fn every_error_renders_an_envelope_whose_status_matches() {
    let cases = every_error();
    assert_eq!(cases.len(), 25, "a new ApiError variant needs a row here");
    for (error, status, phrase, code) in cases {
        let body = error.body();
        assert_eq!(error.status().as_u16(), status, "{error:?}");
        assert_eq!(body.status_code, status, "{error:?}");
        assert_eq!(body.error, phrase, "{error:?}");
        assert_eq!(body.code, code, "{error:?}");
        let response = error.as_response();
        assert_eq!(response.status().as_u16(), status);
        assert!(
            response
                .content_type()
                .is_some_and(|ct| ct.starts_with("application/json")),
            "{error:?}"
        );
        let leaked = body.message.contains("cause");
        assert!(!leaked, "{error:?} leaks its cause");
    }
}

#[test]
fn details_carry_validation_lines_and_the_conflicting_invitation_only() {
    let id = Uuid::nil();
    let conflict = ApiError::Conflict {
        message: CONFLICT_PENDING_EXISTS,
        invitation_id: Some(id),
    };
    assert_eq!(conflict.body().details.invitation_id, Some(id));
    assert_eq!(conflict.body().details.errors, None);
    let lines = ApiError::validation("a: b").body().details;
    assert_eq!(lines.errors, Some(vec!["a: b".to_owned()]));
    assert_eq!(
        ApiError::AlreadyAMember.body().details,
        ErrorDetails::default()
    );
}
