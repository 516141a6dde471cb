//! The topology file: which mirrors exist, read from TOML (or from one Parameter
//! Store parameter per mirror) and validated once on load; every error names the
//! file, the mirror and the field. Also the parameters mirrorgate gives the SSM
//! documents it runs. The mirror itself, as the rules see it, is
//! [`crate::domain::mirror`].

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::domain::mirror::{Member, MemberKind, Mirror, Observer, Policy};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopologyFile {
    #[serde(default, rename = "mirror")]
    mirrors: Vec<Mirror>,
}

/// Where a member sits in the topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberRef {
    pub mirror: usize,
    pub member: usize,
}

/// A validated topology with look-ups by the identifiers AWS events carry.
#[derive(Debug, Clone)]
pub struct Topology {
    pub mirrors: Vec<Mirror>,
    source: String,
    by_instance: HashMap<String, MemberRef>,
    by_health_check: HashMap<String, MemberRef>,
    by_alarm: HashMap<String, (MemberRef, Observer)>,
}

/// A topology that cannot be used, with the place of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TopologyError {
    pub file: String,
    pub mirror: Option<String>,
    pub field: String,
    pub message: String,
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.file)?;
        if let Some(mirror) = &self.mirror {
            write!(f, "mirror {mirror}: ")?;
        }
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl Topology {
    /// Reads and validates a topology file.
    pub fn load(path: &Path) -> Result<Topology, TopologyError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TopologyError {
            file: file.clone(),
            mirror: None,
            field: "(file)".into(),
            message: format!("cannot read the topology file: {e}"),
        })?;
        Topology::parse(&file, &text)
    }

    /// Parses and validates topology text; `source` names it in errors.
    pub fn parse(source: &str, text: &str) -> Result<Topology, TopologyError> {
        let parsed: TopologyFile = toml::from_str(text).map_err(|e| TopologyError {
            file: source.to_string(),
            mirror: None,
            field: "(syntax)".into(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        Topology::new(source, parsed.mirrors)
    }

    /// Validates mirrors given directly (tests, generated scenarios).
    pub fn new(source: &str, mirrors: Vec<Mirror>) -> Result<Topology, TopologyError> {
        let mut topology = Topology {
            mirrors,
            source: source.to_string(),
            by_instance: HashMap::new(),
            by_health_check: HashMap::new(),
            by_alarm: HashMap::new(),
        };
        topology.validate()?;
        Ok(topology)
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn mirror(&self, name: &str) -> Option<&Mirror> {
        self.mirrors.iter().find(|m| m.name == name)
    }

    pub fn by_instance(&self, instance_id: &str) -> Option<(&Mirror, &Member)> {
        self.by_instance.get(instance_id).map(|r| self.resolve(*r))
    }

    pub fn by_health_check(&self, health_check_id: &str) -> Option<(&Mirror, &Member)> {
        self.by_health_check.get(health_check_id).map(|r| self.resolve(*r))
    }

    pub fn by_alarm_name(&self, alarm_name: &str) -> Option<(&Mirror, &Member, Observer)> {
        self.by_alarm.get(alarm_name).map(|(r, o)| {
            let (mirror, member) = self.resolve(*r);
            (mirror, member, *o)
        })
    }

    fn resolve(&self, r: MemberRef) -> (&Mirror, &Member) {
        let mirror = &self.mirrors[r.mirror];
        (mirror, &mirror.members[r.member])
    }

    fn err(&self, mirror: Option<&str>, field: impl Into<String>, message: impl Into<String>) -> TopologyError {
        TopologyError {
            file: self.source.clone(),
            mirror: mirror.map(str::to_string),
            field: field.into(),
            message: message.into(),
        }
    }

    fn validate(&mut self) -> Result<(), TopologyError> {
        if self.mirrors.is_empty() {
            return Err(self.err(None, "mirror", "no [[mirror]] is defined; add at least one"));
        }
        let mut names = HashMap::new();
        for mi in 0..self.mirrors.len() {
            // A copy: the checks below fill the look-up maps of `self` as they go.
            let mirror = self.mirrors[mi].clone();
            self.validate_identity(mi, &mirror, &mut names)?;
            self.validate_policy(&mirror)?;
            let member_names = self.validate_members(mi, &mirror)?;
            self.validate_alarms(mi, &mirror, &member_names)?;
            self.validate_promotion(&mirror)?;
        }
        Ok(())
    }

    /// The mirror's name (valid, once) and its two regions.
    fn validate_identity(
        &self,
        mi: usize,
        mirror: &Mirror,
        names: &mut HashMap<String, usize>,
    ) -> Result<(), TopologyError> {
        let m = Some(mirror.name.as_str());
        if !is_name(&mirror.name) {
            return Err(self.err(
                None,
                format!("mirror[{mi}].name"),
                format!(
                    "{:?} is not a valid mirror name (1-64 letters, digits, '-' or '_')",
                    mirror.name
                ),
            ));
        }
        if names.insert(mirror.name.clone(), mi).is_some() {
            return Err(self.err(m, "name", "this mirror is defined twice"));
        }
        for (field, region) in [
            ("primary_region", &mirror.primary_region),
            ("dr_region", &mirror.dr_region),
        ] {
            if !is_region(region) {
                return Err(self.err(
                    m,
                    field,
                    format!("{region:?} is not an AWS region name (like us-east-1)"),
                ));
            }
        }
        if mirror.primary_region == mirror.dr_region {
            return Err(self.err(
                m,
                "dr_region",
                "must differ from primary_region: DR lives in a second region",
            ));
        }
        Ok(())
    }

    /// The members: one or two failover members, at most one arbiter, a DR async, and
    /// each member's own fields. Returns the member names with their place.
    fn validate_members(&mut self, mi: usize, mirror: &Mirror) -> Result<HashMap<String, usize>, TopologyError> {
        let m = Some(mirror.name.as_str());
        let failovers = mirror.failover_members().count();
        if !(1..=2).contains(&failovers) {
            return Err(self.err(
                m,
                "member",
                format!("an IRIS mirror has one or two failover members; found {failovers}"),
            ));
        }
        let arbiters = mirror.members.iter().filter(|x| x.kind == MemberKind::Arbiter).count();
        if arbiters > 1 {
            return Err(self.err(m, "member", format!("at most one arbiter per mirror; found {arbiters}")));
        }
        let mut member_names = HashMap::new();
        for (i, member) in mirror.members.iter().enumerate() {
            if !is_name(&member.name) {
                return Err(self.err(
                    m,
                    format!("member[{i}].name"),
                    format!("{:?} is not a valid member name", member.name),
                ));
            }
            if member_names.insert(member.name.clone(), i).is_some() {
                return Err(self.err(
                    m,
                    format!("member[{i}] ({}).name", member.name),
                    "two members have this name",
                ));
            }
            self.validate_member(mi, mirror, i, member)?;
        }
        if !mirror.members.iter().any(|x| x.kind == MemberKind::DrAsync) {
            return Err(self.err(
                m,
                "member",
                "no dr_async member: there is nothing to promote in a region outage",
            ));
        }
        Ok(member_names)
    }

    /// One member's own fields: name, region and zone, and the ids it is known by.
    fn validate_member(&mut self, mi: usize, mirror: &Mirror, i: usize, member: &Member) -> Result<(), TopologyError> {
        let m = Some(mirror.name.as_str());
        let field = |f: &str| format!("member[{i}] ({}).{f}", member.name);
        if !is_region(&member.region) {
            return Err(self.err(
                m,
                field("region"),
                format!("{:?} is not an AWS region name", member.region),
            ));
        }
        if matches!(member.kind, MemberKind::Failover | MemberKind::Arbiter) && member.region != mirror.primary_region {
            return Err(self.err(
                m,
                field("region"),
                format!(
                    "a {} member lives in the primary region {}, not {}",
                    member.kind.as_str(),
                    mirror.primary_region,
                    member.region
                ),
            ));
        }
        if !member.zone.starts_with(&member.region) || member.zone.len() <= member.region.len() {
            return Err(self.err(
                m,
                field("zone"),
                format!(
                    "{:?} is not an availability zone of {} (like {}a)",
                    member.zone, member.region, member.region
                ),
            ));
        }
        if let Some(id) = &member.instance_id {
            if !is_instance_id(id) {
                return Err(self.err(
                    m,
                    field("instance_id"),
                    format!("{id:?} is not an EC2 instance id (i- followed by 8 or 17 hex digits)"),
                ));
            }
            let r = MemberRef { mirror: mi, member: i };
            if let Some(prev) = self.by_instance.insert(id.clone(), r) {
                let (pm, pmember) = self.resolve(prev);
                return Err(self.err(
                    m,
                    field("instance_id"),
                    format!("{id} is also used by {} of mirror {}", pmember.name, pm.name),
                ));
            }
        }
        if let Some(url) = &member.status_url {
            if !is_status_url(url) {
                return Err(self.err(
                    m,
                    field("status_url"),
                    format!(
                        "{url:?} is not an http:// or https:// URL of mirror_status.cxw \
                         (like https://10.1.2.3/csp/user/mirror_status.cxw)"
                    ),
                ));
            }
        }
        if let Some(name) = &member.iris_instance {
            if !is_iris_instance(name) {
                return Err(self.err(
                    m,
                    field("iris_instance"),
                    format!(
                        "{name:?} is not an IRIS instance name (letters, digits, '_' or '-', as `iris list` shows it)"
                    ),
                ));
            }
        }
        if let Some(id) = &member.health_check_id {
            if !is_uuid(id) {
                return Err(self.err(
                    m,
                    field("health_check_id"),
                    format!("{id:?} is not a Route 53 health check id (a UUID)"),
                ));
            }
            let r = MemberRef { mirror: mi, member: i };
            if let Some(prev) = self.by_health_check.insert(id.clone(), r) {
                let (pm, pmember) = self.resolve(prev);
                return Err(self.err(
                    m,
                    field("health_check_id"),
                    format!("{id} is also used by {} of mirror {}", pmember.name, pm.name),
                ));
            }
        }
        Ok(())
    }

    /// Each alarm maps to a member of this mirror, once, as a primary-region observer.
    fn validate_alarms(
        &mut self,
        mi: usize,
        mirror: &Mirror,
        member_names: &HashMap<String, usize>,
    ) -> Result<(), TopologyError> {
        let m = Some(mirror.name.as_str());
        for (i, alarm) in mirror.alarms.iter().enumerate() {
            let Some(member) = member_names.get(&alarm.member) else {
                return Err(self.err(
                    m,
                    format!("alarm[{i}] ({}).member", alarm.name),
                    format!("{:?} is not a member of this mirror", alarm.member),
                ));
            };
            if !alarm.observer.in_primary_region() {
                return Err(self.err(
                    m,
                    format!("alarm[{i}] ({}).observer", alarm.name),
                    "an alarm observes route53 or instance; heartbeats and the asyncs' view come from \
                     mirror events, probes from health-poll",
                ));
            }
            let r = MemberRef {
                mirror: mi,
                member: *member,
            };
            if self.by_alarm.insert(alarm.name.clone(), (r, alarm.observer)).is_some() {
                return Err(self.err(
                    m,
                    format!("alarm[{i}].name"),
                    format!("alarm {} is mapped twice", alarm.name),
                ));
            }
        }
        Ok(())
    }

    /// The documents named, the site parameters, and the IRIS instance of each member a
    /// document runs on.
    fn validate_promotion(&self, mirror: &Mirror) -> Result<(), TopologyError> {
        let m = Some(mirror.name.as_str());
        for (field, doc) in [
            ("promotion.ssm_document", &mirror.promotion.ssm_document),
            ("promotion.fence_document", &mirror.promotion.fence_document),
            ("promotion.drill_document", &mirror.promotion.drill_document),
        ] {
            if doc.as_ref().is_some_and(|d| d.trim().is_empty()) {
                return Err(self.err(m, field, "is empty; remove it or name the SSM document"));
            }
        }
        if let Some(key) = mirror
            .promotion
            .ssm_parameters
            .keys()
            .find(|k| PROMOTE_PARAMETERS.contains(&k.as_str()) || FENCE_PARAMETERS.contains(&k.as_str()))
        {
            return Err(self.err(
                m,
                format!("promotion.ssm_parameters.{key}"),
                format!(
                    "{key} is set by mirrorgate itself from the topology and the approved request \
                     ({}); remove it from ssm_parameters",
                    PROMOTE_PARAMETERS.join(", ")
                ),
            ));
        }
        // The documents run `iris session` against the member's own instance.
        for (doc, kind, field) in [
            (
                &mirror.promotion.ssm_document,
                MemberKind::DrAsync,
                "promotion.ssm_document",
            ),
            (
                &mirror.promotion.fence_document,
                MemberKind::Failover,
                "promotion.fence_document",
            ),
            (
                &mirror.promotion.drill_document,
                MemberKind::DrAsync,
                "promotion.drill_document",
            ),
        ] {
            if doc.is_none() {
                continue;
            }
            if let Some((i, member)) = mirror
                .members
                .iter()
                .enumerate()
                .find(|(_, x)| x.kind == kind && x.iris_instance.is_none())
            {
                return Err(self.err(
                    m,
                    format!("member[{i}] ({}).iris_instance", member.name),
                    format!(
                        "is missing: {field} runs on this member and needs its IRIS instance name \
                         (as `iris list` shows it; not the mirror's name)"
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate_policy(&self, mirror: &Mirror) -> Result<(), TopologyError> {
        let m = Some(mirror.name.as_str());
        let p = &mirror.policy;
        let positive = [
            ("policy.confirmation_window_secs", p.confirmation_window_secs),
            ("policy.approval_expiry_secs", p.approval_expiry_secs),
            ("policy.reminder_interval_secs", p.reminder_interval_secs),
            ("policy.heartbeat_stale_secs", p.heartbeat_stale_secs),
            ("policy.promotion_timeout_secs", p.promotion_timeout_secs),
            ("policy.evidence_fresh_secs", p.evidence_fresh_secs),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(self.err(m, field, "must be greater than 0"));
            }
        }
        if !(1..=Observer::ALL.len()).contains(&p.min_observers) {
            return Err(self.err(
                m,
                "policy.min_observers",
                format!(
                    "must be between 1 and {} ({}); got {}",
                    Observer::ALL.len(),
                    Observer::ALL.map(Observer::as_str).join(", "),
                    p.min_observers
                ),
            ));
        }
        if !(1..=10).contains(&p.approvers_required) {
            return Err(self.err(
                m,
                "policy.approvers_required",
                format!("must be between 1 and 10; got {}", p.approvers_required),
            ));
        }
        // Beyond a year a duration is a typo, and far beyond it the clock overflows.
        let durations = [
            ("policy.confirmation_window_secs", p.confirmation_window_secs),
            ("policy.reminder_interval_secs", p.reminder_interval_secs),
            ("policy.cool_down_secs", p.cool_down_secs),
            ("policy.heartbeat_stale_secs", p.heartbeat_stale_secs),
            ("policy.promotion_timeout_secs", p.promotion_timeout_secs),
            ("policy.evidence_fresh_secs", p.evidence_fresh_secs),
            ("policy.split_brain_grace_secs", p.split_brain_grace_secs),
        ];
        for (field, value) in durations {
            if value > MAX_POLICY_SECS {
                return Err(self.err(
                    m,
                    field,
                    format!("must be at most {MAX_POLICY_SECS} (a year); got {value}"),
                ));
            }
        }
        if p.approval_expiry_secs > 86_400 {
            return Err(self.err(
                m,
                "policy.approval_expiry_secs",
                "must be at most 86400 (one day): a link is a credential",
            ));
        }
        Ok(())
    }
}

/// Where the stack reads the topology when no path is configured:
/// `/mirrorgate/<stack>/mirrors` (the template's default for `TopologyPath`).
pub fn default_parameter_path(stack: &str) -> String {
    format!("/mirrorgate/{stack}/mirrors")
}

/// Checks a Parameter Store path for the topology and gives it without a trailing
/// `/` (`/mirrorgate/site/mirrors`). Parameter names hold `a-zA-Z0-9_.-` and `/`
/// between levels, and may not start with `aws` or `ssm`.
pub fn parameter_path(path: &str) -> Result<String, String> {
    let trimmed = path.trim().trim_end_matches('/');
    let hint = "a Parameter Store path such as /mirrorgate/<stack>/mirrors";
    if !trimmed.starts_with('/') || trimmed.len() < 2 {
        return Err(format!("{path:?} is not {hint}: it must start with '/'"));
    }
    let levels: Vec<&str> = trimmed[1..].split('/').collect();
    if levels.iter().any(|l| l.is_empty()) {
        return Err(format!("{path:?} is not {hint}: it has an empty level (//)"));
    }
    if let Some(bad) = trimmed
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_.-/".contains(*c)))
    {
        return Err(format!(
            "{path:?} is not {hint}: {bad:?} is not allowed (letters, digits, _ . - and /)"
        ));
    }
    let first = levels[0].to_ascii_lowercase();
    if first.starts_with("aws") || first.starts_with("ssm") {
        return Err(format!(
            "{path:?} is not {hint}: Parameter Store reserves names starting with aws or ssm"
        ));
    }
    // One level is taken by the mirror's name; Parameter Store allows 15 levels.
    if levels.len() > 14 {
        return Err(format!("{path:?} is not {hint}: at most 14 levels"));
    }
    Ok(trimmed.to_string())
}

/// The parameter that holds one mirror: `<path>/<mirror>`.
pub fn parameter_name(path: &str, mirror: &str) -> String {
    format!("{}/{mirror}", path.trim_end_matches('/'))
}

/// The largest value of a standard-tier parameter, in bytes (Parameter Store: 4 KB).
pub const STANDARD_PARAMETER_BYTES: usize = 4096;
/// The largest value of an advanced-tier parameter, in bytes (Parameter Store: 8 KB).
pub const ADVANCED_PARAMETER_BYTES: usize = 8192;

/// One mirror as the value of its own parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MirrorParameter {
    pub mirror: String,
    /// `<path>/<mirror>`.
    pub name: String,
    /// The mirror's TOML (`[[mirror]]` ...), without the file's comments.
    pub value: String,
}

impl MirrorParameter {
    /// Whether the value needs the advanced tier (more than 4 KB, at most 8 KB).
    pub fn needs_advanced_tier(&self) -> bool {
        self.value.len() > STANDARD_PARAMETER_BYTES
    }
}

#[derive(Serialize)]
struct OneMirror<'a> {
    mirror: [&'a Mirror; 1],
}

impl Topology {
    /// Splits the topology into one parameter per mirror under `path`. Each value
    /// is that mirror's TOML on its own; a value over 8 KB (the most a parameter
    /// holds) is an error naming the mirror.
    pub fn to_parameters(&self, path: &str) -> Result<Vec<MirrorParameter>, TopologyError> {
        let mut parameters = Vec::with_capacity(self.mirrors.len());
        for mirror in &self.mirrors {
            let value = toml::to_string(&OneMirror { mirror: [mirror] })
                .map_err(|e| self.err(Some(&mirror.name), "(file)", format!("cannot be written as TOML: {e}")))?;
            if value.len() > ADVANCED_PARAMETER_BYTES {
                return Err(self.err(
                    Some(&mirror.name),
                    "(size)",
                    format!(
                        "its TOML is {} bytes; a Parameter Store parameter holds at most {ADVANCED_PARAMETER_BYTES} \
                         (advanced tier): shorten it (fewer alarm mappings, shorter names or URLs)",
                        value.len()
                    ),
                ));
            }
            parameters.push(MirrorParameter {
                name: parameter_name(path, &mirror.name),
                mirror: mirror.name.clone(),
                value,
            });
        }
        Ok(parameters)
    }

    /// The topology from the parameters under one path, `(name, value)` each: every
    /// value is checked on its own (errors name its parameter), each must hold the
    /// mirror it is named after, and no mirror, instance, health check or alarm may
    /// appear in two parameters (the error names both). `source` names the whole.
    pub fn from_parameters(source: &str, parameters: &[(String, String)]) -> Result<Topology, TopologyError> {
        if parameters.is_empty() {
            return Err(TopologyError {
                file: source.to_string(),
                mirror: None,
                field: "(parameters)".into(),
                message: "no parameter holds a mirror here: push the topology with \
                          mirrorgate --backend aws topology push FILE"
                    .into(),
            });
        }
        let mut mirrors = Vec::new();
        // What each identifier belongs to: (parameter, mirror).
        let mut seen: HashMap<(&'static str, String), (String, String)> = HashMap::new();
        for (name, value) in parameters {
            let part = Topology::parse(name, value)?;
            let leaf = name.rsplit('/').next().unwrap_or(name);
            for mirror in &part.mirrors {
                if mirror.name != leaf {
                    return Err(part.err(
                        Some(&mirror.name),
                        "name",
                        format!(
                            "the parameter holds mirror {} but is named {leaf}: a parameter holds the mirror it is \
                             named after (mirrorgate topology push writes them so)",
                            mirror.name
                        ),
                    ));
                }
                let mut ids: Vec<(&'static str, String, String)> = vec![("mirror", mirror.name.clone(), "name".into())];
                for member in &mirror.members {
                    if let Some(id) = &member.instance_id {
                        ids.push(("instance", id.clone(), format!("member {} instance_id", member.name)));
                    }
                    if let Some(id) = &member.health_check_id {
                        ids.push((
                            "health check",
                            id.clone(),
                            format!("member {} health_check_id", member.name),
                        ));
                    }
                }
                for alarm in &mirror.alarms {
                    ids.push(("alarm", alarm.name.clone(), format!("alarm {}", alarm.name)));
                }
                for (kind, id, field) in ids {
                    if let Some((other, other_mirror)) = seen.get(&(kind, id.clone())) {
                        return Err(part.err(
                            Some(&mirror.name),
                            field,
                            format!("{kind} {id} is also in parameter {other} (mirror {other_mirror}): remove one"),
                        ));
                    }
                    seen.insert((kind, id), (name.clone(), mirror.name.clone()));
                }
            }
            mirrors.extend(part.mirrors);
        }
        Topology::new(source, mirrors)
    }
}

/// The parameters of the promote document (ssm/promote-dr-async.yaml) that mirrorgate
/// sets itself; `promotion.ssm_parameters` holds only the site's other ones.
pub const PROMOTE_PARAMETERS: [&str; 7] = [
    "MirrorName",
    "InstanceName",
    "Request",
    "AllowNoPartner",
    "WaitSeconds",
    "executionTimeout",
    "Purpose",
];

/// The parameters of the fence document (ssm/fence-member.yaml) that mirrorgate sets.
pub const FENCE_PARAMETERS: [&str; 4] = ["MirrorName", "InstanceName", "Method", "Request"];

/// The site parameters of `promotion.ssm_parameters` that the fence document takes too.
pub const SHARED_SITE_PARAMETERS: [&str; 2] = ["Product", "RunAs"];

/// How long a promote command may take, within `policy.promotion_timeout_secs`: first
/// to be delivered to the SSM agent, then to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandTimeouts {
    /// `SendCommand`'s `TimeoutSeconds`: a fifth of the promotion timeout, at least 30 s
    /// (SSM's minimum); an Online agent takes the command within seconds.
    pub delivery_secs: u64,
    /// The document's `executionTimeout`: the rest of the promotion timeout (at least
    /// 60 s, at most 9999 s, the parameter's allowed pattern).
    pub execution_secs: u64,
    /// The document's `WaitSeconds` for `IsPrimary()`: a minute less than the
    /// execution timeout (at least 30 s), so that the script ends on its own terms.
    pub wait_secs: u64,
}

impl CommandTimeouts {
    pub fn of(policy: &Policy) -> CommandTimeouts {
        let total = policy.promotion_timeout_secs;
        let delivery_secs = (total / 5).max(30);
        let execution_secs = total.saturating_sub(delivery_secs).clamp(60, 9999);
        CommandTimeouts {
            delivery_secs,
            execution_secs,
            wait_secs: execution_secs.saturating_sub(60).max(30),
        }
    }
}

fn one(value: impl Into<String>) -> Vec<String> {
    vec![value.into()]
}

/// The promote document's parameters for promoting `candidate` by `request`: the
/// site's `ssm_parameters` and mirrorgate's own (which a valid topology never lets the
/// site set). `allow_no_partner` comes from the stored approval.
pub fn promote_parameters(
    mirror: &Mirror,
    candidate: &Member,
    request: &str,
    allow_no_partner: bool,
    purpose: PromotePurpose,
) -> BTreeMap<String, Vec<String>> {
    let timeouts = CommandTimeouts::of(&mirror.policy);
    let mut parameters = mirror.promotion.ssm_parameters.clone();
    parameters.insert("MirrorName".into(), one(&mirror.name));
    parameters.insert(
        "InstanceName".into(),
        one(candidate.iris_instance.clone().unwrap_or_default()),
    );
    parameters.insert("Request".into(), one(request));
    parameters.insert("AllowNoPartner".into(), one(allow_no_partner.to_string()));
    parameters.insert("WaitSeconds".into(), one(timeouts.wait_secs.to_string()));
    parameters.insert("executionTimeout".into(), one(timeouts.execution_secs.to_string()));
    parameters.insert("Purpose".into(), one(purpose.as_str()));
    parameters
}

/// Why the promote document runs: after the primary was lost (`disaster`: no primary
/// may be in reach), or in a failback (`failback`: the un-fenced member, once connected
/// to the DR primary, becomes its failover partner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromotePurpose {
    Disaster,
    Failback,
}

impl PromotePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            PromotePurpose::Disaster => "disaster",
            PromotePurpose::Failback => "failback",
        }
    }
}

/// The fence document's parameters for fencing `member` (a former failover member) by
/// `request`: `MirrorName`, `InstanceName`, `Method` (the topology's `fence_method`) and
/// `Request`, with the site's `Product` and `RunAs` when it sets them.
pub fn fence_parameters(mirror: &Mirror, member: &Member, request: &str) -> BTreeMap<String, Vec<String>> {
    let mut parameters: BTreeMap<String, Vec<String>> = mirror
        .promotion
        .ssm_parameters
        .iter()
        .filter(|(k, _)| SHARED_SITE_PARAMETERS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    parameters.insert("MirrorName".into(), one(&mirror.name));
    parameters.insert(
        "InstanceName".into(),
        one(member.iris_instance.clone().unwrap_or_default()),
    );
    parameters.insert("Method".into(), one(mirror.promotion.fence_method.as_str()));
    parameters.insert("Request".into(), one(request));
    parameters
}

/// The drill document's parameters (ssm/drill-dr-async.yaml) for a drill of `candidate`
/// by `request`: `MirrorName`, `InstanceName` and `Request`, with the site's `Product`,
/// `RunAs` and `FailoverAgents` when it sets them (the checks use what a promotion would).
pub fn drill_parameters(mirror: &Mirror, candidate: &Member, request: &str) -> BTreeMap<String, Vec<String>> {
    let mut parameters: BTreeMap<String, Vec<String>> = mirror
        .promotion
        .ssm_parameters
        .iter()
        .filter(|(k, _)| SHARED_SITE_PARAMETERS.contains(&k.as_str()) || k.as_str() == "FailoverAgents")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    parameters.insert("MirrorName".into(), one(&mirror.name));
    parameters.insert(
        "InstanceName".into(),
        one(candidate.iris_instance.clone().unwrap_or_default()),
    );
    parameters.insert("Request".into(), one(request));
    parameters
}

/// The longest duration a policy may give, in seconds: a year.
pub const MAX_POLICY_SECS: u64 = 366 * 86_400;

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_instance_id(s: &str) -> bool {
    s.strip_prefix("i-")
        .is_some_and(|hex| matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// An IRIS or Caché instance name: what `iris list` shows (letters, digits, `_`,
/// `-`; at most 64 here, which is more than sites use).
fn is_iris_instance(s: &str) -> bool {
    (1..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_status_url(s: &str) -> bool {
    let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
    rest.is_some_and(|r| {
        let host = r.split('/').next().unwrap_or("");
        !host.is_empty() && s.len() <= 2048 && s.bytes().all(|b| b.is_ascii_graphic())
    })
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The reference topology, `examples/topology.toml` (mirror HSPROD: failover members A
/// and B, DR asyncs DR1 and DR2, an arbiter), for this crate's unit tests.
#[cfg(test)]
pub(crate) fn example() -> Topology {
    Topology::parse("examples/topology.toml", include_str!("../../examples/topology.toml"))
        .expect("the example topology is valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_topology_describes_the_reference_architecture() {
        let t = example();
        let m = t.mirror("HSPROD").expect("HSPROD");
        assert_eq!(
            (m.primary_region.as_str(), m.dr_region.as_str()),
            ("us-east-1", "us-west-2")
        );
        let (_, a) = t.by_instance("i-0aaaaaaaaaaaaaaa1").expect("A by instance");
        assert_eq!(
            (a.name.as_str(), a.kind, a.zone.as_str()),
            ("HSPROD-A", MemberKind::Failover, "us-east-1a")
        );
        let (_, dr1) = t.by_health_check("44444444-4444-4444-8444-444444444444").expect("DR1");
        assert_eq!(dr1.name, "HSPROD-DR1");
        assert_eq!(
            t.by_instance("i-0ccccccccccccccc3").map(|(_, m)| m.kind),
            Some(MemberKind::Arbiter)
        );
        assert_eq!(
            t.by_alarm_name("HSPROD-B-iris-down")
                .map(|(_, m, o)| (m.name.as_str(), o)),
            Some(("HSPROD-B", Observer::Instance))
        );
    }

    fn with(edit: impl Fn(&mut Vec<Mirror>)) -> TopologyError {
        let mut mirrors = example().mirrors;
        edit(&mut mirrors);
        Topology::new("t.toml", mirrors).expect_err("must be refused")
    }

    #[test]
    fn errors_name_the_file_the_mirror_and_the_field() {
        let e = with(|m| m[0].members[0].instance_id = Some("i-xyz".into()));
        assert_eq!(e.file, "t.toml");
        assert_eq!(e.mirror.as_deref(), Some("HSPROD"));
        assert_eq!(e.field, "member[0] (HSPROD-A).instance_id");
        assert!(
            e.to_string()
                .starts_with("t.toml: mirror HSPROD: member[0] (HSPROD-A).instance_id: \"i-xyz\""),
            "{e}"
        );
    }

    #[test]
    fn a_site_parameter_that_mirrorgate_sets_is_refused_by_name() {
        for key in ["InstanceName", "AllowNoPartner", "Method"] {
            let e = with(|m| {
                m[0].promotion
                    .ssm_parameters
                    .insert(key.to_string(), vec!["HSPROD".into()]);
            });
            assert_eq!(e.field, format!("promotion.ssm_parameters.{key}"));
            assert!(e.to_string().contains("is set by mirrorgate itself"), "{e}");
        }
    }

    #[test]
    fn a_member_the_documents_run_on_needs_its_iris_instance() {
        let e = with(|m| m[0].members[3].iris_instance = None);
        assert_eq!(e.field, "member[3] (HSPROD-DR1).iris_instance");
        assert!(
            e.to_string().contains("promotion.ssm_document runs on this member"),
            "{e}"
        );
        let e = with(|m| m[0].members[1].iris_instance = None);
        assert_eq!(e.field, "member[1] (HSPROD-B).iris_instance");
        assert!(e.to_string().contains("promotion.fence_document"), "{e}");
    }

    #[test]
    fn the_promote_command_fits_in_the_promotion_timeout() {
        let mut policy = Policy::default();
        assert_eq!(
            CommandTimeouts::of(&policy),
            CommandTimeouts {
                delivery_secs: 120,
                execution_secs: 480,
                wait_secs: 420
            }
        );
        policy.promotion_timeout_secs = 120;
        let short = CommandTimeouts::of(&policy);
        assert_eq!(short.delivery_secs + short.execution_secs, 90 + 30);
    }

    #[test]
    fn refuses_bad_values() {
        assert_eq!(
            with(|m| m[0].members[1].health_check_id = Some("nope".into())).field,
            "member[1] (HSPROD-B).health_check_id"
        );
        assert_eq!(
            with(|m| m[0].members[3].zone = "us-east-1a".into()).field,
            "member[3] (HSPROD-DR1).zone"
        );
        assert_eq!(
            with(|m| m[0].members[0].region = "us-west-2".into()).field,
            "member[0] (HSPROD-A).region"
        );
        assert_eq!(with(|m| m[0].policy.min_observers = 0).field, "policy.min_observers");
        assert_eq!(
            with(|m| m[0].policy.confirmation_window_secs = 0).field,
            "policy.confirmation_window_secs"
        );
        assert_eq!(with(|m| m[0].dr_region = "us-east-1".into()).field, "dr_region");
        assert_eq!(
            with(|m| m[0].alarms[0].member = "HSPROD-Z".into()).field,
            "alarm[0] (HSPROD-A-iris-down).member"
        );
        assert_eq!(
            with(|m| m[0].members.retain(|x| x.kind != MemberKind::DrAsync)).field,
            "member"
        );
        assert_eq!(
            with(|m| m[0].members[4].instance_id = m[0].members[3].instance_id.clone()).field,
            "member[4] (HSPROD-DR2).instance_id"
        );
        let twice = with(|m| {
            let again = m[0].clone();
            m.push(again)
        });
        assert_eq!(twice.field, "name");
    }

    #[test]
    fn syntax_errors_and_unknown_fields_are_reported() {
        let e =
            Topology::parse("x.toml", "[[mirror]]\nname = \"M\"\nprimary_regoin = \"us-east-1\"\n").expect_err("typo");
        assert_eq!(e.field, "(syntax)");
        assert!(e.message.contains("primary_regoin"), "{}", e.message);
        let e = Topology::parse("x.toml", "").expect_err("empty");
        assert_eq!(e.field, "mirror");
    }

    fn two_mirrors() -> Topology {
        let mut second = example().mirrors[0].clone();
        second.name = "HSTEST".into();
        for (i, member) in second.members.iter_mut().enumerate() {
            member.name = member.name.replace("HSPROD", "HSTEST");
            member.instance_id = member.instance_id.as_ref().map(|_| format!("i-0{i:016x}"));
            member.health_check_id = member
                .health_check_id
                .as_ref()
                .map(|_| format!("9999999{i}-9999-4999-8999-999999999999"));
        }
        for alarm in &mut second.alarms {
            alarm.name = alarm.name.replace("HSPROD", "HSTEST");
            alarm.member = alarm.member.replace("HSPROD", "HSTEST");
        }
        let mut mirrors = example().mirrors;
        mirrors.push(second);
        Topology::new("site.toml", mirrors).expect("two mirrors")
    }

    #[test]
    fn a_parameter_is_named_after_its_mirror_under_the_path() {
        assert_eq!(
            parameter_name("/mirrorgate/site/mirrors", "HSPROD"),
            "/mirrorgate/site/mirrors/HSPROD"
        );
        assert_eq!(
            parameter_name("/mirrorgate/site/mirrors/", "HSPROD"),
            "/mirrorgate/site/mirrors/HSPROD"
        );
        assert_eq!(default_parameter_path("site"), "/mirrorgate/site/mirrors");
        assert_eq!(
            parameter_path("/mirrorgate/site/mirrors/").as_deref(),
            Ok("/mirrorgate/site/mirrors")
        );
        for bad in ["mirrorgate/x", "/", "/a//b", "/a b", "/aws/x", "/SSM/x", ""] {
            let e = parameter_path(bad).expect_err(bad);
            assert!(e.contains("Parameter Store path"), "{e}");
        }
    }

    #[test]
    fn a_file_splits_into_one_parameter_per_mirror_that_reads_back_as_the_same_topology() {
        let topology = two_mirrors();
        let parameters = topology.to_parameters("/mirrorgate/site/mirrors").expect("split");
        assert_eq!(
            parameters.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(),
            ["/mirrorgate/site/mirrors/HSPROD", "/mirrorgate/site/mirrors/HSTEST"]
        );
        for p in &parameters {
            assert!(p.value.starts_with("[[mirror]]"), "{}", p.value);
            assert!(!p.value.contains('#'), "comments are not stored: {}", p.value);
            assert!(!p.needs_advanced_tier(), "{} bytes", p.value.len());
            assert_eq!(Topology::parse(&p.name, &p.value).expect("each alone").mirrors.len(), 1);
        }
        let pairs: Vec<(String, String)> = parameters.iter().map(|p| (p.name.clone(), p.value.clone())).collect();
        let back = Topology::from_parameters("/mirrorgate/site/mirrors", &pairs).expect("merged");
        assert_eq!(back.mirrors, topology.mirrors);
        assert_eq!(back.source(), "/mirrorgate/site/mirrors");
    }

    #[test]
    fn a_mirror_too_big_for_a_parameter_is_named() {
        let mut mirrors = example().mirrors;
        mirrors[0].description = Some("x".repeat(ADVANCED_PARAMETER_BYTES));
        let e = Topology::new("big.toml", mirrors)
            .expect("valid")
            .to_parameters("/p")
            .expect_err("too big");
        assert_eq!((e.mirror.as_deref(), e.field.as_str()), (Some("HSPROD"), "(size)"));
        assert!(e.message.contains("8192"), "{e}");
        let mut mirrors = example().mirrors;
        mirrors[0].description = Some("x".repeat(STANDARD_PARAMETER_BYTES));
        let p = Topology::new("big.toml", mirrors)
            .expect("valid")
            .to_parameters("/p")
            .expect("fits");
        assert!(p[0].needs_advanced_tier());
    }

    #[test]
    fn the_same_mirror_or_instance_in_two_parameters_names_both() {
        let parameters = two_mirrors().to_parameters("/p").expect("split");
        let mut pairs: Vec<(String, String)> = parameters.iter().map(|p| (p.name.clone(), p.value.clone())).collect();
        // HSTEST's DR1 takes HSPROD's DR1 instance.
        pairs[1].1 = pairs[1].1.replace("i-00000000000000003", "i-0ddddddddddddddd4");
        let e = Topology::from_parameters("/p", &pairs).expect_err("shared instance");
        assert_eq!(e.file, "/p/HSTEST");
        assert_eq!(e.mirror.as_deref(), Some("HSTEST"));
        assert!(e.message.contains("also in parameter /p/HSPROD"), "{e}");
        assert_eq!(e.field, "member HSTEST-DR1 instance_id");

        let renamed = vec![pairs[0].clone(), ("/p/OTHER".to_string(), pairs[0].1.clone())];
        let e = Topology::from_parameters("/p", &renamed).expect_err("named after another mirror");
        assert_eq!((e.file.as_str(), e.field.as_str()), ("/p/OTHER", "name"));

        let broken = vec![("/p/HSPROD".to_string(), "[[mirror]]\nname = 1".to_string())];
        let e = Topology::from_parameters("/p", &broken).expect_err("syntax");
        assert_eq!((e.file.as_str(), e.field.as_str()), ("/p/HSPROD", "(syntax)"));

        let e = Topology::from_parameters("/p", &[]).expect_err("none");
        assert!(e.to_string().contains("topology push"), "{e}");
    }
}
