/** A build refused or failed for a reason the pusher should read (the message is shown as it is). */
export class BuildError extends Error {}
