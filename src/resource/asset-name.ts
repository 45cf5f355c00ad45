/**
 * Asset names and SHA-256 digests as PublishPackageVersion and GetPackageVersionAsset take them.
 * CodeArtifact allows letters, digits, ~ ! @ ^ & ( ) - ` _ + [ ] { } ; , . and single spaces inside
 * a name (not first, not last, never two together). Only the ASCII letters and digits are accepted
 * here: a name travels back in the X-AssetName response header, and a header value that is not plain
 * ASCII is not portable.
 */
import { ValidationError } from '../errors.ts';

const ASSET_NAME = /^(?! )(?!.* $)(?!.*  )[A-Za-z0-9~!@^&()\-`_+[\]{};,. ]{1,255}$/;

export function parseAssetName(name: string): string {
  if (!ASSET_NAME.test(name)) {
    throw new ValidationError(
      'asset must be 1 to 255 characters: letters, digits, ~ ! @ ^ & ( ) - ` _ + [ ] { } ; , . and single spaces between them',
    );
  }
  if (/^\.+$/.test(name)) throw new ValidationError(`asset must not be only dots, got '${name}'`);
  return name;
}

/** A SHA-256 in lowercase hex (64 digits), as CodeArtifact's model defines x-amz-content-sha256. */
export function parseSha256(text: string): string {
  if (!/^[0-9a-f]{64}$/.test(text)) {
    throw new ValidationError('x-amz-content-sha256 must be the SHA-256 of the asset in lowercase hex (64 digits)');
  }
  return text;
}
