//! Library errors as JavaScript `PlasmiteError`s with typed fields.

use napi::bindgen_prelude::*;
use napi::JsValue;

/// The constructor `new PlasmiteError(message, init)`, kept per JavaScript
/// environment (main thread and each worker thread load the addon apart).
type ErrorCtor = FunctionRef<FnArgs<(String, Object<'static>)>, Unknown<'static>>;

/// Keeps `ctor` for this environment.
pub(crate) fn register(
    env: &Env,
    ctor: Function<'_, FnArgs<(String, Object<'static>)>, Unknown<'static>>,
) -> Result<()> {
    let ctor: ErrorCtor = ctor.create_ref()?;
    env.set_instance_data(ctor, (), |_| {})
}

/// A usage error (bad argument) raised by the binding itself.
pub(crate) fn usage(message: impl Into<String>) -> plasmite::Error {
    plasmite::Error::new(plasmite::ErrorKind::Usage, message)
}

/// The JavaScript error to throw for `e`: a `PlasmiteError` whose `kind`,
/// `hint`, `path`, `seq` and `offset` are set from the library's error.
pub(crate) fn to_js(env: &Env, e: &plasmite::Error) -> Error {
    build(env, e).unwrap_or_else(|_| {
        // Building the object failed (the environment is shutting down):
        // fall back to napi's own error with the same text.
        Error::new(Status::GenericFailure, e.to_string())
    })
}

fn build(env: &Env, e: &plasmite::Error) -> Result<Error> {
    let mut init = Object::new(env)?;
    init.set("kind", e.kind().as_str())?;
    if let Some(hint) = e.hint() {
        init.set("hint", hint)?;
    }
    if let Some(path) = e.path() {
        init.set("path", path.to_string_lossy().as_ref())?;
    }
    // Seqs and offsets stay far below 2^53, where f64 is exact.
    if let Some(seq) = e.seq() {
        init.set("seq", seq as f64)?;
    }
    if let Some(offset) = e.offset() {
        init.set("offset", offset as f64)?;
    }
    let message = e.message().to_owned();
    match env.get_instance_data::<ErrorCtor>()? {
        Some(ctor) => {
            let instance = ctor
                .borrow_back(env)?
                .new_instance(FnArgs::from((message, init)))?;
            Ok(Error::from(instance))
        }
        None => {
            // No class registered (the addon was loaded on its own): a plain
            // Error with the same fields.
            let mut plain = env.create_error(Error::from_reason(message))?;
            for key in ["kind", "hint", "path", "seq", "offset"] {
                if init.has_named_property(key)? {
                    plain.set(key, init.get_named_property::<Unknown>(key)?)?;
                }
            }
            Ok(Error::from(plain.to_unknown()))
        }
    }
}

/// `?` for library results inside napi methods: converts the error.
pub(crate) trait OrThrow<T> {
    /// The value, or the error as a `PlasmiteError`.
    fn or_throw(self, env: &Env) -> Result<T>;
}

impl<T> OrThrow<T> for plasmite::Result<T> {
    fn or_throw(self, env: &Env) -> Result<T> {
        self.map_err(|e| to_js(env, &e))
    }
}
