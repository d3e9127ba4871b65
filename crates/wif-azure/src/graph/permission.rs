//! Who may do what in the local Graph, as Entra decides for an application caller: by the
//! Microsoft Graph application permissions its token carries in `roles` (granted in the
//! directory with `graphAppRoles`), and by ownership of an application (`owners`). Reading
//! service principals needs `Application.Read.All`, `Application.ReadWrite.All`,
//! `Directory.Read.All` or `Directory.ReadWrite.All`; an application's federated credentials
//! are read with `Application.Read.All` or `Application.ReadWrite.All`, and written only with
//! `Application.ReadWrite.All`; `Application.ReadWrite.OwnedBy` reaches the applications the
//! caller owns, and nothing else. A user-assigned identity's credentials are ARM's (written under
//! RBAC, `.../federatedIdentityCredentials/write`): a Graph token reaches none of them. The
//! admin token (`wif sts --admin-token-file`) reaches everything. Pure: no I/O.

use crate::caller::Caller;

/// Reads every application and service principal.
pub const APPLICATION_READ_ALL: &str = "Application.Read.All";
/// Reads and writes every application.
pub const APPLICATION_READ_WRITE_ALL: &str = "Application.ReadWrite.All";
/// Reads and writes the applications the caller owns.
pub const APPLICATION_READ_WRITE_OWNED_BY: &str = "Application.ReadWrite.OwnedBy";
/// Reads the directory (service principals among it).
pub const DIRECTORY_READ_ALL: &str = "Directory.Read.All";
/// Reads and writes the directory; reads service principals here.
pub const DIRECTORY_READ_WRITE_ALL: &str = "Directory.ReadWrite.All";

/// Who calls the Graph management API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    /// The admin token's holder: every tenant, every parent.
    Admin,
    /// A Graph token this emulator minted: its own tenant, with its permissions.
    Principal(Caller),
}

/// What a call asks of an application's credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// List or get.
    Read,
    /// Create, update or delete.
    Write,
}

/// Why Graph refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The token carries no permission that reaches the call.
    #[error("Insufficient privileges to complete the operation.")]
    InsufficientPrivileges,
    /// A user-assigned identity's credentials, asked of Graph with a Graph token.
    #[error(
        "Insufficient privileges to complete the operation: a user-assigned identity's federated identity credentials are written through ARM (PUT .../userAssignedIdentities/{{name}}/federatedIdentityCredentials/{{name}}, under Azure RBAC), not through Graph."
    )]
    IdentityCredentialsAreArms,
}

impl Access {
    /// Whether the caller reaches `tenant_id` at all (a Graph token stays in its tenant).
    pub fn reaches(&self, tenant_id: &str) -> bool {
        match self {
            Access::Admin => true,
            Access::Principal(caller) => caller.tenant_id.eq_ignore_ascii_case(tenant_id),
        }
    }

    fn holds(&self, role: &str) -> bool {
        match self {
            Access::Admin => true,
            Access::Principal(caller) => caller.roles.iter().any(|r| r.eq_ignore_ascii_case(role)),
        }
    }

    /// May list and get service principals and directory objects.
    pub fn may_read_directory(&self) -> Result<(), Denied> {
        let readers = [
            APPLICATION_READ_ALL,
            APPLICATION_READ_WRITE_ALL,
            DIRECTORY_READ_ALL,
            DIRECTORY_READ_WRITE_ALL,
        ];
        if readers.iter().any(|role| self.holds(role)) {
            Ok(())
        } else {
            Err(Denied::InsufficientPrivileges)
        }
    }

    /// Whether the call may go on to look its application up: the caller holds a permission
    /// that reaches some application, so a caller with none learns nothing of what exists.
    pub fn may_touch_applications(&self, intent: Intent) -> Result<(), Denied> {
        let reaching: &[&str] = match intent {
            Intent::Read => &[
                APPLICATION_READ_ALL,
                APPLICATION_READ_WRITE_ALL,
                APPLICATION_READ_WRITE_OWNED_BY,
            ],
            Intent::Write => &[APPLICATION_READ_WRITE_ALL, APPLICATION_READ_WRITE_OWNED_BY],
        };
        if reaching.iter().any(|role| self.holds(role)) {
            Ok(())
        } else {
            Err(Denied::InsufficientPrivileges)
        }
    }

    /// May do `intent` on the credentials of an application owned by `owners`.
    pub fn may_use_application(&self, intent: Intent, owners: &[String]) -> Result<(), Denied> {
        let everywhere = match intent {
            Intent::Read => self.holds(APPLICATION_READ_ALL) || self.holds(APPLICATION_READ_WRITE_ALL),
            Intent::Write => self.holds(APPLICATION_READ_WRITE_ALL),
        };
        let owned = match self {
            Access::Admin => true,
            Access::Principal(caller) => {
                self.holds(APPLICATION_READ_WRITE_OWNED_BY)
                    && owners.iter().any(|o| o.eq_ignore_ascii_case(&caller.object_id))
            }
        };
        if everywhere || owned {
            Ok(())
        } else {
            Err(Denied::InsufficientPrivileges)
        }
    }

    /// Whether the caller sees every application of its tenant: one that sees only those it
    /// owns is told an application it does not own does not exist, as it cannot tell it from
    /// one that does not (Graph scopes `OwnedBy` callers to their own objects).
    pub fn sees_every_application(&self) -> bool {
        self.holds(APPLICATION_READ_ALL) || self.holds(APPLICATION_READ_WRITE_ALL)
    }

    /// May touch a user-assigned identity's credentials through Graph: the admin token only.
    pub fn may_use_identity(&self) -> Result<(), Denied> {
        match self {
            Access::Admin => Ok(()),
            Access::Principal(_) => Err(Denied::IdentityCredentialsAreArms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: &str = "0b1ec700-0000-4000-8000-000000000001";

    fn principal(roles: &[&str]) -> Access {
        Access::Principal(Caller {
            object_id: ME.into(),
            app_id: "11111111-0000-4000-8000-000000000001".into(),
            tenant_id: "aaaaaaaa-0000-4000-8000-00000000000a".into(),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        })
    }

    #[test]
    fn a_role_less_token_reads_and_writes_nothing() {
        let none = principal(&[]);
        assert_eq!(none.may_read_directory(), Err(Denied::InsufficientPrivileges));
        for intent in [Intent::Read, Intent::Write] {
            assert_eq!(none.may_touch_applications(intent), Err(Denied::InsufficientPrivileges));
            assert_eq!(
                none.may_use_application(intent, &[ME.to_owned()]),
                Err(Denied::InsufficientPrivileges),
                "owning is not enough without Application.ReadWrite.OwnedBy"
            );
        }
        assert_eq!(none.may_use_identity(), Err(Denied::IdentityCredentialsAreArms));
    }

    #[test]
    fn read_all_reads_and_does_not_write() {
        let reader = principal(&["application.read.all"]);
        assert_eq!(reader.may_read_directory(), Ok(()));
        assert_eq!(reader.may_use_application(Intent::Read, &[]), Ok(()));
        assert_eq!(
            reader.may_touch_applications(Intent::Write),
            Err(Denied::InsufficientPrivileges)
        );
        assert_eq!(
            reader.may_use_application(Intent::Write, &[]),
            Err(Denied::InsufficientPrivileges)
        );
        assert_eq!(
            principal(&[DIRECTORY_READ_ALL]).may_use_application(Intent::Read, &[]),
            Err(Denied::InsufficientPrivileges),
            "Directory.Read.All lists service principals, not credentials"
        );
    }

    #[test]
    fn owned_by_reaches_only_owned_applications_and_write_all_every_one() {
        let owner = principal(&[APPLICATION_READ_WRITE_OWNED_BY]);
        assert_eq!(owner.may_touch_applications(Intent::Write), Ok(()));
        assert_eq!(owner.may_use_application(Intent::Write, &[ME.to_uppercase()]), Ok(()));
        assert_eq!(
            owner.may_use_application(Intent::Write, &["0b1ec700-0000-4000-8000-000000000002".to_owned()]),
            Err(Denied::InsufficientPrivileges)
        );
        assert_eq!(owner.may_read_directory(), Err(Denied::InsufficientPrivileges));
        let writer = principal(&[APPLICATION_READ_WRITE_ALL]);
        assert_eq!(writer.may_use_application(Intent::Write, &[]), Ok(()));
        assert_eq!(writer.may_use_identity(), Err(Denied::IdentityCredentialsAreArms));
        assert_eq!(Access::Admin.may_use_identity(), Ok(()));
        assert_eq!(Access::Admin.may_use_application(Intent::Write, &[]), Ok(()));
    }
}
