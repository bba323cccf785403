// No drizzle imports here: the worker reads this too.

/**
 * A container image reference (name[:tag][@digest], optional registry[:port]/). It must start with a
 * letter or digit: the image sits among the container CLI's options, so "--help" or "--privileged"
 * would be read as one.
 */
export const IMAGE_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,499}$";
export const IMAGE_DESCRIPTION = "an image reference such as alpine:3.20 or registry:5000/team/app@sha256:… (letters, digits, . _ / : @ -, starting with a letter or digit)";
