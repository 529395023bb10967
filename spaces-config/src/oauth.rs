//! "Sign in with Hugging Face" settings: the OAuth scopes a Space may ask for.

use crate::keyword::keyword_enum;

/// The longest an OAuth token may live, in minutes (30 days).
pub const MAX_OAUTH_EXPIRATION_MINUTES: u32 = 43_200;

/// How long an OAuth token lives when `hf_oauth_expiration_minutes` is not set.
pub const DEFAULT_OAUTH_EXPIRATION_MINUTES: u32 = 480;

keyword_enum! {
    /// An OAuth scope (`hf_oauth_scopes`).
    ///
    /// ```
    /// use spaces_config::OAuthScope;
    /// assert_eq!(OAuthScope::parse("read-repos"), Some(OAuthScope::ReadRepos));
    /// assert_eq!(OAuthScope::parse("admin"), None);
    /// ```
    OAuthScope {
        /// `openid`
        OpenId => "openid",
        /// `profile`
        Profile => "profile",
        /// `email`
        Email => "email",
        /// `read-billing`
        ReadBilling => "read-billing",
        /// `read-memberships`
        ReadMemberships => "read-memberships",
        /// `read-repos`
        ReadRepos => "read-repos",
        /// `gated-repos`
        GatedRepos => "gated-repos",
        /// `contribute-repos`
        ContributeRepos => "contribute-repos",
        /// `write-repos`
        WriteRepos => "write-repos",
        /// `manage-repos`
        ManageRepos => "manage-repos",
        /// `read-collections`
        ReadCollections => "read-collections",
        /// `write-collections`
        WriteCollections => "write-collections",
        /// `inference-api`
        InferenceApi => "inference-api",
        /// `read-endpoints`
        ReadEndpoints => "read-endpoints",
        /// `write-endpoints`
        WriteEndpoints => "write-endpoints",
        /// `jobs`
        Jobs => "jobs",
        /// `webhooks`
        Webhooks => "webhooks",
        /// `write-discussions`
        WriteDiscussions => "write-discussions",
    }
}
