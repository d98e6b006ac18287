/**
 * Errors mkroot reports. Each code is stable and documented in the package
 * README ("Errors"); a test fails when one is not. The message always names
 * the path and says what to do.
 */
export const MKROOT_ERROR_CODES = {
  MKROOT_SOURCE_NOT_FOUND: 'the source directory does not exist',
  MKROOT_SOURCE_NOT_A_DIRECTORY: 'the source path is a file or something else, not a directory',
  MKROOT_UNREADABLE_DIRECTORY: 'a directory in the tree cannot be listed',
  MKROOT_UNREADABLE_FILE: 'a file in the tree cannot be opened or read',
  MKROOT_BAD_FILE_NAME: 'a file name is not valid UTF-8, so no URL can name it',
  MKROOT_ESCAPING_LINK: 'a symbolic link points outside the source tree',
  MKROOT_DANGLING_LINK: 'a symbolic link points to nothing',
  MKROOT_LINK_LOOP: 'symbolic links form a loop',
  MKROOT_FILE_CHANGED: 'a file changed while it was being packed',
  MKROOT_DESTINATION_UNWRITABLE: 'the output file cannot be created in its directory',
  MKROOT_OUTPUT_IS_DIRECTORY: 'OUT names an existing directory, not a file to write',
  MKROOT_BAD_OPTION: 'an option value is malformed',
  MKROOT_PATH_NOT_FOUND: 'a path asked for (mkroot cat) is not in the webroot',
  MKROOT_BAD_REDIRECTS: 'a line of _redirects is malformed or asks for something we do not do',
  MKROOT_BAD_HEADERS: 'a line of _headers is malformed or sets a field the server owns',
  MKROOT_BAD_CONFIG: 'webroot.toml is not valid TOML or has an unknown or malformed key',
  MKROOT_KEY_EXISTS: 'mkroot keygen would overwrite an existing key file',
  MKROOT_CHANNEL_UNREADABLE: 'the release channel (directory or URL) cannot be read',
  MKROOT_CHANNEL_UNWRITABLE: 'the release channel refuses a write (directory permissions, or an HTTP server without PUT)',
  MKROOT_CHANNEL_MANIFEST: "the channel's manifest for the host does not parse, or is signed by another key",
  MKROOT_NOT_PUBLISHED: 'a --stage, --promote or --rollback needs a release already published for the host',
  MKROOT_RELEASE_NOT_FOUND: 'the digest given to --promote or --rollback is not a release in the channel',
} as const;

export type MkrootErrorCode = keyof typeof MKROOT_ERROR_CODES;

export class MkrootError extends Error {
  override readonly name = 'MkrootError';
  constructor(
    readonly code: MkrootErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
