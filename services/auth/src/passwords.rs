//! Password hashing (argon2id, PHC strings) and the strength check for new passwords.
//!
//! Hashing is slow on purpose (≈ 15 ms and 19 MiB at the OWASP parameters), so it never runs on
//! the async executor: a small pool of dedicated threads, one per core by default, takes jobs from
//! a bounded queue. Each thread keeps one argon2 memory block and reuses it for every hash, which
//! saves allocating and page-faulting 19 MiB per call (≈ 28% of a hash's time here); a fixed
//! number of threads also bounds that memory, which `spawn_blocking`'s up-to-512 threads would
//! not. When the queue is full the request is refused at once (503) instead of queueing without
//! bound.
//!
//! Unknown users are checked against a dummy hash made with the current parameters, so a login
//! takes as long whether or not the account exists.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use rand::RngCore as _;
use secrecy::{ExposeSecret, SecretString};

use crate::error::AuthError;

/// Jobs waiting per hashing thread before new ones are refused.
const QUEUE_PER_THREAD: usize = 256;
/// Salt length in bytes (the PHC recommendation).
const SALT_LEN: usize = 16;
/// Hash output length in bytes.
const OUTPUT_LEN: usize = 32;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Iterations.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl HashParams {
    /// OWASP's recommendation: 19 MiB, 2 iterations, 1 lane.
    pub const OWASP: Self = Self {
        memory_kib: Params::DEFAULT_M_COST,
        iterations: Params::DEFAULT_T_COST,
        parallelism: Params::DEFAULT_P_COST,
    };

    fn argon2(self) -> Result<Params, argon2::Error> {
        Params::new(self.memory_kib, self.iterations, self.parallelism, Some(OUTPUT_LEN))
    }
}

/// What a verification found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The password matches.
    pub matches: bool,
    /// The hash was made with other parameters than the current ones and should be replaced.
    pub needs_rehash: bool,
}

/// Why a password could not be hashed: a weak password is the caller's fault, anything else is
/// ours.
#[derive(Debug)]
pub enum NewPasswordError {
    /// The strength check refused it, with a reason for the user.
    Weak(String),
    /// Hashing failed.
    Failed(AuthError),
}

impl From<AuthError> for NewPasswordError {
    fn from(error: AuthError) -> Self {
        NewPasswordError::Failed(error)
    }
}

/// The memory a hashing thread keeps between jobs.
pub struct Workspace {
    memory: Vec<Block>,
}

impl Workspace {
    /// An empty workspace; memory grows to what the largest job needs.
    pub fn new() -> Self {
        Self { memory: Vec::new() }
    }

    fn memory_for(&mut self, params: &Params) -> &mut [Block] {
        let blocks = params.block_count();
        if self.memory.len() < blocks {
            self.memory.resize(blocks, Block::default());
        }
        &mut self.memory[..blocks]
    }

    /// Hashes `password` with fresh salt into a PHC string.
    pub fn hash(&mut self, params: HashParams, password: &[u8]) -> anyhow::Result<String> {
        let params = params.argon2().map_err(|e| anyhow::anyhow!("bad argon2 parameters: {e}"))?;
        let mut salt = [0u8; SALT_LEN];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let mut out = [0u8; OUTPUT_LEN];
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        argon
            .hash_password_into_with_memory(password, &salt, &mut out, self.memory_for(&params))
            .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let phc = PasswordHash {
            algorithm: ARGON2ID_IDENT,
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(|e| anyhow::anyhow!("params: {e}"))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?),
        };
        Ok(phc.to_string())
    }

    /// Checks `password` against a PHC string, in constant time over the hash bytes.
    pub fn verify(&mut self, current: HashParams, phc: &str, password: &[u8]) -> anyhow::Result<Verified> {
        let parsed = PasswordHash::new(phc).map_err(|e| anyhow::anyhow!("stored hash is not PHC: {e}"))?;
        anyhow::ensure!(parsed.algorithm == ARGON2ID_IDENT, "stored hash is not argon2id");
        let params = Params::try_from(&parsed).map_err(|e| anyhow::anyhow!("stored params: {e}"))?;
        let mut salt_buf = [0u8; 64];
        let salt = parsed
            .salt
            .ok_or_else(|| anyhow::anyhow!("stored hash has no salt"))?
            .decode_b64(&mut salt_buf)
            .map_err(|e| anyhow::anyhow!("stored salt: {e}"))?;
        let expected = parsed.hash.ok_or_else(|| anyhow::anyhow!("stored hash has no output"))?;
        let mut out = vec![0u8; expected.len()];
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
        argon
            .hash_password_into_with_memory(password, salt, &mut out, self.memory_for(&params))
            .map_err(|e| anyhow::anyhow!("argon2 failed: {e}"))?;
        let computed = Output::new(&out).map_err(|e| anyhow::anyhow!("output: {e}"))?;
        // `Output`'s equality is constant-time.
        let matches = computed == expected;
        let needs_rehash = params.m_cost() != current.memory_kib
            || params.t_cost() != current.iterations
            || params.p_cost() != current.parallelism;
        Ok(Verified { matches, needs_rehash })
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

/// Estimates a new password's strength with zxcvbn, which also penalises the user's own name,
/// username and email. `Err` carries a reason for the user.
pub fn check_strength(password: &str, user_inputs: &[&str], min_score: u8) -> Result<(), String> {
    let estimate = zxcvbn::zxcvbn(password, user_inputs);
    if u8::from(estimate.score()) >= min_score {
        return Ok(());
    }
    let warning = estimate.feedback().and_then(|f| f.warning()).map(|w| w.to_string());
    Err(match warning {
        Some(warning) if !warning.is_empty() => format!("is too easy to guess: {warning}"),
        _ => "is too easy to guess; use a longer phrase of uncommon words".to_owned(),
    })
}

type Job = Box<dyn FnOnce(&mut Workspace) + Send>;

/// The password hashing pool (a clone sends to the same threads).
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: crossbeam_channel::Sender<Job>,
    params: HashParams,
    min_score: u8,
    /// A hash of a random password, verified against for logins of unknown users.
    dummy: Arc<str>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").field("params", &self.params).finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Starts `threads` hashing threads (0: one per core) and makes the dummy hash.
    pub async fn start(params: HashParams, threads: usize, min_score: u8) -> anyhow::Result<Self> {
        params.argon2().map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let threads = if threads == 0 {
            std::thread::available_parallelism().map(usize::from).unwrap_or(2)
        } else {
            threads
        };
        let (jobs, queue) = crossbeam_channel::bounded::<Job>(threads * QUEUE_PER_THREAD);
        for index in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new().name(format!("penny-argon2-{index}")).spawn(move || {
                let mut workspace = Workspace::new();
                // The loop ends when the hasher (every sender) is dropped.
                while let Ok(job) = queue.recv() {
                    // A panicking job must not take the thread (and its queue share) with it;
                    // the caller sees its reply channel closed.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut workspace)));
                }
            })?;
        }
        let mut hasher = Self { jobs, params, min_score, dummy: Arc::from("") };
        let mut random = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut random);
        let dummy = hasher.run(move |ws| ws.hash(params, &random)).await.map_err(anyhow::Error::from)??;
        hasher.dummy = Arc::from(dummy);
        Ok(hasher)
    }

    /// The parameters new hashes use.
    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Runs `work` on a hashing thread.
    async fn run<T, F>(&self, work: F) -> Result<T, AuthError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Workspace) -> T + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |ws| {
            let _ = reply.send(work(ws));
        });
        self.jobs.try_send(job).map_err(|error| match error {
            crossbeam_channel::TrySendError::Full(_) => AuthError::Busy,
            crossbeam_channel::TrySendError::Disconnected(_) => {
                AuthError::Internal(anyhow::anyhow!("the password hashing threads stopped"))
            }
        })?;
        answer.await.map_err(|_| AuthError::Internal(anyhow::anyhow!("a password hashing job failed")))
    }

    /// Verifies `password` against `phc`, or against the dummy hash when there is no account,
    /// which always fails but costs the same.
    pub async fn verify(&self, phc: Option<&str>, password: &SecretString) -> Result<Verified, AuthError> {
        let known = phc.is_some();
        let phc: Arc<str> = phc.map_or_else(|| Arc::clone(&self.dummy), Arc::from);
        let password = password.clone();
        let current = self.params;
        let verified =
            self.run(move |ws| ws.verify(current, &phc, password.expose_secret().as_bytes())).await??;
        Ok(if known { verified } else { Verified { matches: false, needs_rehash: false } })
    }

    /// Hashes a password that is already in use (a rehash with new parameters).
    pub async fn rehash(&self, password: &SecretString) -> Result<String, AuthError> {
        let password = password.clone();
        let params = self.params;
        Ok(self.run(move |ws| ws.hash(params, password.expose_secret().as_bytes())).await??)
    }

    /// Checks a new password's length and strength against the user's own details without
    /// hashing it (to refuse a weak password before anything else is spent on it).
    pub async fn check_new(
        &self,
        password: &SecretString,
        user_inputs: Vec<String>,
    ) -> Result<(), NewPasswordError> {
        crate::domain::check_password_length(password).map_err(|r| NewPasswordError::Weak(r.to_owned()))?;
        let password = password.clone();
        let min_score = self.min_score;
        self.run(move |_| {
            let inputs: Vec<&str> = user_inputs.iter().map(String::as_str).collect();
            check_strength(password.expose_secret(), &inputs, min_score)
        })
        .await?
        .map_err(NewPasswordError::Weak)
    }

    /// Checks a new password's length and strength against the user's own details, then hashes
    /// it.
    pub async fn hash_new(
        &self,
        password: &SecretString,
        user_inputs: Vec<String>,
    ) -> Result<String, NewPasswordError> {
        crate::domain::check_password_length(password).map_err(|r| NewPasswordError::Weak(r.to_owned()))?;
        let password = password.clone();
        let params = self.params;
        let min_score = self.min_score;
        self.run(move |ws| {
            let inputs: Vec<&str> = user_inputs.iter().map(String::as_str).collect();
            check_strength(password.expose_secret(), &inputs, min_score).map_err(NewPasswordError::Weak)?;
            ws.hash(params, password.expose_secret().as_bytes())
                .map_err(|e| NewPasswordError::Failed(AuthError::Internal(e)))
        })
        .await?
    }
}

/// The user details a password must not be built from: the name and its words, the username,
/// the email and its local part.
pub fn user_inputs(name: &str, username: &str, email: &str) -> Vec<String> {
    let mut inputs: Vec<String> = vec![name.to_owned(), username.to_owned(), email.to_owned()];
    inputs.extend(name.split_whitespace().map(str::to_owned));
    if let Some((local, _)) = email.split_once('@') {
        inputs.push(local.to_owned());
    }
    inputs
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: HashParams = HashParams { memory_kib: 64, iterations: 1, parallelism: 1 };

    #[test]
    fn a_hash_is_an_argon2id_phc_string_that_verifies() {
        let mut ws = Workspace::new();
        let phc = ws.hash(CHEAP, b"correct horse battery staple").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        let ok = ws.verify(CHEAP, &phc, b"correct horse battery staple").unwrap();
        assert_eq!(ok, Verified { matches: true, needs_rehash: false });
        assert!(!ws.verify(CHEAP, &phc, b"correct horse battery stapler").unwrap().matches);
    }

    #[test]
    fn salts_differ_and_old_parameters_ask_for_a_rehash() {
        let mut ws = Workspace::new();
        let first = ws.hash(CHEAP, b"same password").unwrap();
        let second = ws.hash(CHEAP, b"same password").unwrap();
        assert_ne!(first, second);
        let stronger = HashParams { memory_kib: 128, ..CHEAP };
        assert!(ws.verify(stronger, &first, b"same password").unwrap().needs_rehash);
    }

    #[test]
    fn the_reused_memory_gives_the_same_hashes_as_a_fresh_one() {
        // Hash with a large block first, then verify a small-parameter hash with the dirty memory.
        let mut ws = Workspace::new();
        let big = HashParams { memory_kib: 256, ..CHEAP };
        let _ = ws.hash(big, b"something else").unwrap();
        let phc = Workspace::new().hash(CHEAP, b"p4ssw0rd-phrase").unwrap();
        assert!(ws.verify(CHEAP, &phc, b"p4ssw0rd-phrase").unwrap().matches);
    }

    #[test]
    fn the_strength_check_knows_the_user() {
        let inputs = user_inputs("Ada Lovelace", "adal", "ada@example.org");
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        assert!(check_strength("password", &[], 3).is_err());
        assert!(check_strength("adalovelace", &inputs, 3).is_err());
        assert!(check_strength("quiet-lantern-orbit-47", &inputs, 3).is_ok());
    }

    #[test]
    fn garbage_hashes_are_errors_not_matches() {
        let mut ws = Workspace::new();
        assert!(ws.verify(CHEAP, "not a hash", b"x").is_err());
        assert!(
            ws.verify(CHEAP, "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", b"x").is_err()
        );
    }
}
