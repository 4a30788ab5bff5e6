//! An organization: the tenant that owns servers, channels and members.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::OrgId;
use crate::tiers::{EffectiveLimits, Tier, TierOverride, TierTable};

/// An organization (SPEC §1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Its id.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Unique, immutable short name used to find it.
    pub slug: String,
    /// Free text shown in the Directory.
    pub description: String,
    /// Whether it is listed in the Directory.
    pub discoverable: bool,
    /// Subscription tier.
    pub tier: Tier,
    /// Temporary overrides applied by a platform admin.
    pub overrides: Vec<TierOverride>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl Organization {
    /// The limits in force for this organization at `now`.
    pub fn limits(&self, table: &TierTable, now: DateTime<Utc>) -> EffectiveLimits {
        EffectiveLimits::at(table, self.tier, &self.overrides, now)
    }
}

/// Whether a slug is acceptable: 2–63 characters of `a-z`, `0-9` and inner `-`.
pub fn valid_slug(slug: &str) -> bool {
    let ok_chars = slug
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (2..=63).contains(&slug.len()) && ok_chars && !slug.starts_with('-') && !slug.ends_with('-')
}

#[cfg(test)]
mod tests {
    use super::valid_slug;

    #[test]
    fn slugs() {
        assert!(valid_slug("acme-health"));
        assert!(valid_slug("h2"));
        for bad in ["", "a", "-x", "x-", "Acme", "a b", "a_b", &"x".repeat(64)] {
            assert!(!valid_slug(bad), "{bad}");
        }
    }
}
