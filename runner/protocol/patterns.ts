/**
 * Name, id and value patterns of the wire contract (JSON Schema `pattern` strings, so TypeBox,
 * Elysia and the OpenAPI document all carry them). Everything that checks one of these imports it
 * from here.
 */

/** An environment variable or secret name; never `__proto__`, which a JS object takes as its prototype (the value vanished). */
export const ENV_NAME_PATTERN = "^(?!__proto__$)[A-Za-z_][A-Za-z0-9_]*$";
/** A job's name (jobs, job files, trigger jobs): letters, digits, . _ -, starting with a letter or digit. */
export const JOB_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]*$";
export const JOB_NAME_MAX = 200;
/** A step or workflow job name: letters, digits, _ and -. */
export const NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_-]*$";
/** A project name (also accepted where a project id is). */
export const PROJECT_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$";
/** A user's name (tokens are issued for users by name). */
export const USER_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$";
/** A secret's key: an env name of up to 128 characters. */
export const SECRET_KEY_PATTERN = "^(?!__proto__$)[A-Za-z_][A-Za-z0-9_]{0,127}$";
/** A worker's id. */
export const WORKER_ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$";
export const UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/** Docker-style sizes: bytes, or a number with b, k, m or g. */
export const MEMORY_PATTERN = "^[0-9]+(\\.[0-9]+)?[bkmgBKMG]?$";
/** One line: values that travel through env files (one line per variable) or argv. */
export const ONE_LINE_PATTERN = "^[^\\r\\n\\u0000]+$";
/** Anything but NUL, which cannot reach a process's argv or environment. */
export const NO_NUL_PATTERN = "^[^\\u0000]*$";

/**
 * A container image reference (name[:tag][@digest], optional registry[:port]/). It must start with a
 * letter or digit: the image sits among the container CLI's options, so "--help" or "--privileged"
 * would be read as one.
 */
export const IMAGE_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,499}$";
export const IMAGE_DESCRIPTION = "an image reference such as alpine:3.20 or registry:5000/team/app@sha256:… (letters, digits, . _ / : @ -, starting with a letter or digit)";

const UUID = new RegExp(UUID_PATTERN);
export const isUuid = (value: string): boolean => UUID.test(value);
