//! Subscription tiers, their limits and features (SPEC §3), temporary overrides that stop
//! applying at `expires_at`, and the checks that refuse an action exceeding them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::refusal::{Decision, Refusal};

/// A subscription tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    /// The free tier.
    Free,
    /// The standard tier.
    Standard,
    /// The enterprise tier.
    Enterprise,
}

impl Tier {
    /// All tiers, cheapest first.
    pub const ALL: [Tier; 3] = [Tier::Free, Tier::Standard, Tier::Enterprise];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Standard => "standard",
            Tier::Enterprise => "enterprise",
        }
    }
}

/// A counted limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    /// Servers per organization.
    Servers,
    /// Active agreements with other organizations (self-agreements do not count).
    Peers,
    /// Channels per server.
    ChannelsPerServer,
}

/// A feature a tier may lack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Offering admin read-write connections.
    AdminRw,
    /// Rotating a connection's secret (platform admins may always rotate).
    SecretRotation,
}

/// One tier's limits; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierLimits {
    /// Maximum servers.
    pub servers: Option<u32>,
    /// Maximum peers.
    pub peers: Option<u32>,
    /// Maximum channels on one server.
    pub channels_per_server: Option<u32>,
    /// Whether admin read-write connections may be offered.
    pub admin_rw: bool,
    /// Whether members may rotate secrets.
    pub secret_rotation: bool,
}

impl TierLimits {
    /// The limit's value, `None` when unlimited.
    pub fn limit(&self, limit: Limit) -> Option<u32> {
        match limit {
            Limit::Servers => self.servers,
            Limit::Peers => self.peers,
            Limit::ChannelsPerServer => self.channels_per_server,
        }
    }

    /// Whether the feature is included.
    pub fn feature(&self, feature: Feature) -> bool {
        match feature {
            Feature::AdminRw => self.admin_rw,
            Feature::SecretRotation => self.secret_rotation,
        }
    }
}

/// The limits of every tier; configuration supplies it, [`TierTable::default`] is SPEC §3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierTable {
    /// Free tier.
    pub free: TierLimits,
    /// Standard tier.
    pub standard: TierLimits,
    /// Enterprise tier.
    pub enterprise: TierLimits,
}

impl Default for TierTable {
    fn default() -> Self {
        TierTable {
            free: TierLimits {
                servers: Some(2),
                peers: Some(2),
                channels_per_server: Some(5),
                admin_rw: false,
                secret_rotation: false,
            },
            standard: TierLimits {
                servers: Some(20),
                peers: Some(25),
                channels_per_server: Some(50),
                admin_rw: true,
                secret_rotation: true,
            },
            enterprise: TierLimits {
                servers: None,
                peers: None,
                channels_per_server: None,
                admin_rw: true,
                secret_rotation: true,
            },
        }
    }
}

impl TierTable {
    /// The limits of one tier.
    pub fn get(&self, tier: Tier) -> &TierLimits {
        match tier {
            Tier::Free => &self.free,
            Tier::Standard => &self.standard,
            Tier::Enterprise => &self.enterprise,
        }
    }

    /// The tiers that include a feature, for `tier_forbidden` details.
    pub fn tiers_with(&self, feature: Feature) -> Vec<Tier> {
        Tier::ALL
            .into_iter()
            .filter(|t| self.get(*t).feature(feature))
            .collect()
    }
}

/// What an override changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum OverrideKind {
    /// Grants a feature the tier lacks.
    Feature {
        /// The granted feature.
        feature: Feature,
    },
    /// Replaces a limit's value (`None` = unlimited).
    Limit {
        /// The limit.
        limit: Limit,
        /// Its value while the override applies.
        value: Option<u32>,
    },
}

/// A temporary override applied by a platform admin; it has no effect from `expires_at` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierOverride {
    /// What it changes.
    pub kind: OverrideKind,
    /// When it stops applying.
    pub expires_at: DateTime<Utc>,
}

impl TierOverride {
    /// Whether the override applies at `now`.
    pub fn applies_at(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

/// An organization's limits at one instant: its tier's table entry with live overrides applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveLimits {
    /// The organization's tier, named in refusals.
    pub tier: Tier,
    /// The limits in force.
    pub limits: TierLimits,
}

impl EffectiveLimits {
    /// Computes the limits in force at `now`. The latest-expiring live override of a kind wins.
    pub fn at(
        table: &TierTable,
        tier: Tier,
        overrides: &[TierOverride],
        now: DateTime<Utc>,
    ) -> Self {
        let mut limits = *table.get(tier);
        let mut live: Vec<&TierOverride> = overrides.iter().filter(|o| o.applies_at(now)).collect();
        live.sort_by_key(|o| o.expires_at);
        for o in live {
            match o.kind {
                OverrideKind::Feature {
                    feature: Feature::AdminRw,
                } => limits.admin_rw = true,
                OverrideKind::Feature {
                    feature: Feature::SecretRotation,
                } => limits.secret_rotation = true,
                OverrideKind::Limit {
                    limit: Limit::Servers,
                    value,
                } => limits.servers = raise(limits.servers, value),
                OverrideKind::Limit {
                    limit: Limit::Peers,
                    value,
                } => limits.peers = raise(limits.peers, value),
                OverrideKind::Limit {
                    limit: Limit::ChannelsPerServer,
                    value,
                } => limits.channels_per_server = raise(limits.channels_per_server, value),
            }
        }
        EffectiveLimits { tier, limits }
    }

    /// Refuses with `tier_limit` when adding one more to `current` would pass the limit.
    pub fn check_room_for_one(&self, limit: Limit, current: u32) -> Decision<()> {
        match self.limits.limit(limit) {
            Some(max) if current >= max => Err(Refusal::TierLimit {
                limit,
                current,
                max,
                tier: self.tier,
            }),
            _ => Ok(()),
        }
    }

    /// Refuses with `tier_forbidden` when the feature is not available.
    pub fn check_feature(&self, table: &TierTable, feature: Feature) -> Decision<()> {
        if self.limits.feature(feature) {
            Ok(())
        } else {
            Err(Refusal::TierForbidden {
                feature,
                tier: self.tier,
                available_on: table.tiers_with(feature),
            })
        }
    }
}

/// The larger of two limits (`None` = unlimited): an override only ever raises a limit, so a
/// tier upgrade is never capped by an override granted on the old tier.
fn raise(tier: Option<u32>, over: Option<u32>) -> Option<u32> {
    match (tier, over) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn defaults_match_spec_table() {
        let t = TierTable::default();
        assert_eq!(
            (t.free.servers, t.free.peers, t.free.channels_per_server),
            (Some(2), Some(2), Some(5))
        );
        assert_eq!(
            (
                t.standard.servers,
                t.standard.peers,
                t.standard.channels_per_server
            ),
            (Some(20), Some(25), Some(50))
        );
        assert_eq!(
            (
                t.enterprise.servers,
                t.enterprise.peers,
                t.enterprise.channels_per_server
            ),
            (None, None, None)
        );
        assert!(!t.free.admin_rw && t.standard.admin_rw && t.enterprise.admin_rw);
        assert!(
            !t.free.secret_rotation && t.standard.secret_rotation && t.enterprise.secret_rotation
        );
    }

    #[test]
    fn limit_refusal_names_limit_count_and_tier() {
        let e = EffectiveLimits::at(&TierTable::default(), Tier::Free, &[], now());
        assert_eq!(e.check_room_for_one(Limit::Servers, 1), Ok(()));
        assert_eq!(
            e.check_room_for_one(Limit::Servers, 2),
            Err(Refusal::TierLimit {
                limit: Limit::Servers,
                current: 2,
                max: 2,
                tier: Tier::Free
            })
        );
        let ent = EffectiveLimits::at(&TierTable::default(), Tier::Enterprise, &[], now());
        assert_eq!(ent.check_room_for_one(Limit::Peers, 1_000_000), Ok(()));
    }

    #[test]
    fn feature_refusal_lists_the_tiers_that_have_it() {
        let t = TierTable::default();
        let e = EffectiveLimits::at(&t, Tier::Free, &[], now());
        assert_eq!(
            e.check_feature(&t, Feature::AdminRw),
            Err(Refusal::TierForbidden {
                feature: Feature::AdminRw,
                tier: Tier::Free,
                available_on: vec![Tier::Standard, Tier::Enterprise]
            })
        );
    }

    #[test]
    fn overrides_apply_until_they_expire() {
        let t = TierTable::default();
        let ov = [
            TierOverride {
                kind: OverrideKind::Feature {
                    feature: Feature::AdminRw,
                },
                expires_at: now() + Duration::hours(1),
            },
            TierOverride {
                kind: OverrideKind::Limit {
                    limit: Limit::Servers,
                    value: Some(10),
                },
                expires_at: now() + Duration::hours(1),
            },
        ];
        let live = EffectiveLimits::at(&t, Tier::Free, &ov, now());
        assert!(live.check_feature(&t, Feature::AdminRw).is_ok());
        assert!(live.check_room_for_one(Limit::Servers, 5).is_ok());
        // An override below the tier's own limit never lowers it (e.g. after an upgrade).
        let low = EffectiveLimits::at(&t, Tier::Standard, &ov, now());
        assert!(low.check_room_for_one(Limit::Servers, 15).is_ok());
        let later = EffectiveLimits::at(&t, Tier::Free, &ov, now() + Duration::hours(1));
        assert!(later.check_feature(&t, Feature::AdminRw).is_err());
        assert!(later.check_room_for_one(Limit::Servers, 2).is_err());
    }
}
