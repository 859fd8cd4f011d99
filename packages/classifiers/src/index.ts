/**
 * @psf/classifiers: classifiers built on @psf/client-sdk, for the central default queue or a
 * mailbox owner's own machine.
 */
