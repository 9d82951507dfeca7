//! The scenarios a virtual user runs, and the weights they are picked by.

use rand::RngExt;
use rand::rngs::StdRng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Withdraw,
    Deposit,
    Cancel,
    Dispute,
    Browse,
    Health,
}

impl Kind {
    fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "withdraw" => Kind::Withdraw,
            "deposit" => Kind::Deposit,
            "cancel" => Kind::Cancel,
            "dispute" => Kind::Dispute,
            "browse" => Kind::Browse,
            "health" => Kind::Health,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Withdraw => "withdraw",
            Kind::Deposit => "deposit",
            Kind::Cancel => "cancel",
            Kind::Dispute => "dispute",
            Kind::Browse => "browse",
            Kind::Health => "health",
        }
    }
}

/// Scenario weights, as `withdraw=70,deposit=20,cancel=5,dispute=5`.
#[derive(Debug, Clone)]
pub struct Mix {
    weights: Vec<(Kind, u32)>,
    total: u32,
}

impl Mix {
    pub fn parse(text: &str) -> Result<Mix, String> {
        let mut weights = Vec::new();
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (name, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("{part}: use name=weight"))?;
            let kind =
                Kind::parse(name.trim()).ok_or_else(|| format!("unknown scenario {name}"))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("{part}: the weight is not a number"))?;
            weights.push((kind, weight));
        }
        let total = weights.iter().map(|(_, w)| w).sum();
        if total == 0 {
            return Err("the mix has no weight".into());
        }
        Ok(Mix { weights, total })
    }

    pub fn pick(&self, rng: &mut StdRng) -> Kind {
        let mut roll = rng.random_range(0..self.total);
        for (kind, weight) in &self.weights {
            if roll < *weight {
                return *kind;
            }
            roll -= weight;
        }
        self.weights[0].0
    }
}
