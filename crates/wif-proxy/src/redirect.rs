//! The iptables redirect that sends a pod's IMDS traffic to the proxy (upstream's
//! `init-iptables.sh`, spec/upstream-azwi.md section 3.7), as a plan: given what
//! `iptables -t nat -S` lists now, the commands that make the nat table hold exactly the
//! redirect, or none of it. Upstream's script fails when run twice; these plans are
//! idempotent (a second apply plans nothing) and can undo themselves. Pure: the listing in,
//! the commands (arguments after `iptables -t nat`) out; running them is the caller's job.
//!
//! The rules, in the nat table: OUTPUT sends TCP to `METADATA_IP:METADATA_PORT` to
//! `AZWI_PROXY_OUTPUT`, which lets the proxy's own user (UID 1501) through, so the proxy can
//! still reach the real IMDS, and sends everything else to `AZWI_PROXY_REDIRECT`, which
//! redirects it to the proxy's port on loopback.

use std::net::Ipv4Addr;

/// The chain OUTPUT jumps to.
pub const OUTPUT_CHAIN: &str = "AZWI_PROXY_OUTPUT";
/// The chain that redirects.
pub const REDIRECT_CHAIN: &str = "AZWI_PROXY_REDIRECT";

/// What to redirect where (upstream's `PROXY_PORT`, `METADATA_IP`, `METADATA_PORT`,
/// `PROXY_UID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redirect {
    /// The proxy's port on loopback.
    pub proxy_port: u16,
    /// The metadata address.
    pub metadata_ip: Ipv4Addr,
    /// The metadata port.
    pub metadata_port: u16,
    /// The proxy's user, let through.
    pub proxy_uid: u32,
}

impl Default for Redirect {
    fn default() -> Self {
        Redirect {
            proxy_port: 8000,
            metadata_ip: Ipv4Addr::new(169, 254, 169, 254),
            metadata_port: 80,
            proxy_uid: 1501,
        }
    }
}

/// One iptables command: the arguments after `iptables -t nat`.
pub type Command = Vec<String>;

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// A rule's words with what iptables adds when it lists it (`/32`, `-m tcp`) taken out, so a
/// rule as given and as listed compare equal.
fn normalized(rule: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(rule.len());
    let mut i = 0;
    while i < rule.len() {
        if rule[i] == "-m" && rule.get(i + 1).is_some_and(|m| m == "tcp") {
            i += 2;
            continue;
        }
        out.push(rule[i].strip_suffix("/32").unwrap_or(&rule[i]).to_owned());
        i += 1;
    }
    out
}

/// What a `-S` listing holds: chain names and `-A` rules (chain, then the rest).
#[derive(Debug, Default)]
struct Listing {
    chains: Vec<String>,
    rules: Vec<(String, Vec<String>)>,
}

impl Listing {
    fn parse(text: &str) -> Self {
        let mut listing = Listing::default();
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next()) {
                (Some("-N"), Some(chain)) => listing.chains.push(chain.to_owned()),
                (Some("-A"), Some(chain)) => listing
                    .rules
                    .push((chain.to_owned(), parts.map(str::to_owned).collect())),
                _ => {}
            }
        }
        listing
    }

    fn has_chain(&self, chain: &str) -> bool {
        self.chains.iter().any(|c| c == chain)
    }

    fn rules_of(&self, chain: &str) -> Vec<Vec<String>> {
        self.rules
            .iter()
            .filter(|(c, _)| c == chain)
            .map(|(_, rule)| normalized(rule))
            .collect()
    }

    /// OUTPUT's rules that jump to our chain, as listed.
    fn jumps(&self) -> Vec<Vec<String>> {
        self.rules
            .iter()
            .filter(|(c, rule)| c == "OUTPUT" && rule.windows(2).any(|w| w[0] == "-j" && w[1] == OUTPUT_CHAIN))
            .map(|(_, rule)| rule.clone())
            .collect()
    }
}

fn command(action: &str, chain: &str, rule: &[String]) -> Command {
    let mut command = vec![action.to_owned(), chain.to_owned()];
    command.extend(rule.iter().cloned());
    command
}

impl Redirect {
    /// OUTPUT's jump.
    fn jump(&self) -> Vec<String> {
        words(&format!(
            "-d {}/32 -p tcp -m tcp --dport {} -j {OUTPUT_CHAIN}",
            self.metadata_ip, self.metadata_port
        ))
    }

    /// Our chains and their rules, in the order they must be made (a chain before a jump to it).
    fn chains(&self) -> [(&'static str, Vec<Vec<String>>); 2] {
        [
            (
                REDIRECT_CHAIN,
                vec![words(&format!("-p tcp -j REDIRECT --to-ports {}", self.proxy_port))],
            ),
            (
                OUTPUT_CHAIN,
                vec![
                    words(&format!("-m owner --uid-owner {} -j ACCEPT", self.proxy_uid)),
                    words(&format!("-j {REDIRECT_CHAIN}")),
                ],
            ),
        ]
    }

    /// The commands that make `listing` (`iptables -t nat -S`) hold exactly the redirect:
    /// none when it does already.
    pub fn plan_apply(&self, listing: &str) -> Vec<Command> {
        let listing = Listing::parse(listing);
        let mut plan = Vec::new();
        for (chain, rules) in self.chains() {
            if !listing.has_chain(chain) {
                plan.push(vec!["-N".to_owned(), chain.to_owned()]);
            }
            let wanted: Vec<Vec<String>> = rules.iter().map(|r| normalized(r)).collect();
            let listed = listing.rules_of(chain);
            if listed != wanted {
                if !listed.is_empty() {
                    plan.push(vec!["-F".to_owned(), chain.to_owned()]);
                }
                plan.extend(rules.iter().map(|rule| command("-A", chain, rule)));
            }
        }
        let jump = self.jump();
        let mut kept = false;
        for listed in listing.jumps() {
            if !kept && normalized(&listed) == normalized(&jump) {
                kept = true;
            } else {
                // A jump of an earlier run with other values, or a duplicate.
                plan.push(command("-D", "OUTPUT", &listed));
            }
        }
        if !kept {
            plan.push(command("-A", "OUTPUT", &jump));
        }
        plan
    }

    /// The commands that take every part of the redirect out of `listing`: none when there is
    /// nothing of it.
    pub fn plan_undo(listing: &str) -> Vec<Command> {
        let listing = Listing::parse(listing);
        let mut plan: Vec<Command> = listing
            .jumps()
            .iter()
            .map(|listed| command("-D", "OUTPUT", listed))
            .collect();
        // AZWI_PROXY_OUTPUT jumps to AZWI_PROXY_REDIRECT: empty both before deleting either.
        for chain in [OUTPUT_CHAIN, REDIRECT_CHAIN] {
            if listing.has_chain(chain) {
                plan.push(vec!["-F".to_owned(), chain.to_owned()]);
            }
        }
        for chain in [OUTPUT_CHAIN, REDIRECT_CHAIN] {
            if listing.has_chain(chain) {
                plan.push(vec!["-X".to_owned(), chain.to_owned()]);
            }
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n";

    /// What iptables 1.8 (nf_tables) lists after the plan ran.
    const APPLIED: &str = "-P PREROUTING ACCEPT\n-P INPUT ACCEPT\n-P OUTPUT ACCEPT\n-P POSTROUTING ACCEPT\n\
-N AZWI_PROXY_OUTPUT\n-N AZWI_PROXY_REDIRECT\n\
-A OUTPUT -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j AZWI_PROXY_OUTPUT\n\
-A AZWI_PROXY_OUTPUT -m owner --uid-owner 1501 -j ACCEPT\n\
-A AZWI_PROXY_OUTPUT -j AZWI_PROXY_REDIRECT\n\
-A AZWI_PROXY_REDIRECT -p tcp -j REDIRECT --to-ports 8000\n";

    fn lines(plan: &[Command]) -> Vec<String> {
        plan.iter().map(|c| c.join(" ")).collect()
    }

    #[test]
    fn a_fresh_table_gets_upstreams_rules() {
        assert_eq!(
            lines(&Redirect::default().plan_apply(EMPTY)),
            [
                "-N AZWI_PROXY_REDIRECT",
                "-A AZWI_PROXY_REDIRECT -p tcp -j REDIRECT --to-ports 8000",
                "-N AZWI_PROXY_OUTPUT",
                "-A AZWI_PROXY_OUTPUT -m owner --uid-owner 1501 -j ACCEPT",
                "-A AZWI_PROXY_OUTPUT -j AZWI_PROXY_REDIRECT",
                "-A OUTPUT -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j AZWI_PROXY_OUTPUT",
            ]
        );
    }

    #[test]
    fn applying_twice_changes_nothing() {
        assert!(Redirect::default().plan_apply(APPLIED).is_empty());
        // As iptables-legacy lists the jump (no `-m tcp`, same meaning).
        let legacy = APPLIED.replace(" -m tcp --dport", " --dport");
        assert!(Redirect::default().plan_apply(&legacy).is_empty());
    }

    #[test]
    fn a_changed_port_or_a_duplicate_jump_converges() {
        let moved = Redirect {
            proxy_port: 8001,
            ..Redirect::default()
        };
        assert_eq!(
            lines(&moved.plan_apply(APPLIED)),
            [
                "-F AZWI_PROXY_REDIRECT",
                "-A AZWI_PROXY_REDIRECT -p tcp -j REDIRECT --to-ports 8001"
            ]
        );
        let twice = format!("{APPLIED}-A OUTPUT -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j AZWI_PROXY_OUTPUT\n");
        assert_eq!(
            lines(&Redirect::default().plan_apply(&twice)),
            ["-D OUTPUT -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j AZWI_PROXY_OUTPUT"]
        );
        let other_ip = Redirect {
            metadata_ip: Ipv4Addr::new(10, 0, 0, 1),
            ..Redirect::default()
        };
        assert_eq!(
            lines(&other_ip.plan_apply(APPLIED)),
            [
                "-D OUTPUT -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j AZWI_PROXY_OUTPUT",
                "-A OUTPUT -d 10.0.0.1/32 -p tcp -m tcp --dport 80 -j AZWI_PROXY_OUTPUT",
            ]
        );
        // Half a run (the chains made, the rules not yet): finished, not duplicated.
        let half = format!("{EMPTY}-N AZWI_PROXY_OUTPUT\n-N AZWI_PROXY_REDIRECT\n");
        assert_eq!(
            lines(&Redirect::default().plan_apply(&half)),
            [
                "-A AZWI_PROXY_REDIRECT -p tcp -j REDIRECT --to-ports 8000",
                "-A AZWI_PROXY_OUTPUT -m owner --uid-owner 1501 -j ACCEPT",
                "-A AZWI_PROXY_OUTPUT -j AZWI_PROXY_REDIRECT",
                "-A OUTPUT -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j AZWI_PROXY_OUTPUT",
            ]
        );
    }

    #[test]
    fn undo_takes_out_everything_and_then_nothing() {
        assert_eq!(
            lines(&Redirect::plan_undo(APPLIED)),
            [
                "-D OUTPUT -d 169.254.169.254/32 -p tcp -m tcp --dport 80 -j AZWI_PROXY_OUTPUT",
                "-F AZWI_PROXY_OUTPUT",
                "-F AZWI_PROXY_REDIRECT",
                "-X AZWI_PROXY_OUTPUT",
                "-X AZWI_PROXY_REDIRECT",
            ]
        );
        assert!(Redirect::plan_undo(EMPTY).is_empty());
        // Other rules of the table are never touched.
        let others = format!("{EMPTY}-N KUBE-X\n-A OUTPUT -j KUBE-X\n");
        assert!(Redirect::plan_undo(&others).is_empty());
        assert_eq!(Redirect::default().plan_apply(&others).len(), 6);
    }
}
