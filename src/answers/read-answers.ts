// Reads an answer file (or install.json in the folder named), bounded in size,
// and checks it; then the passphrase file it names, if any. Nothing is
// evaluated: the file is JSON, read as data.
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../common/install-error.js';
import { AnswerError, type Answers } from '../common/answers.js';
import { checkAnswers } from './answer-file.js';

export const ANSWER_FILE_NAME = 'install.json';
const MAX_ANSWER_BYTES = 64 * 1024;
// cryptsetup reads at most 512 characters of an interactively typed passphrase:
// a longer one could not be typed at boot.
export const MAX_PASSPHRASE_BYTES = 512;

async function readBounded(path: string, limit: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(limit + 1);
    const { bytesRead } = await handle.read(buffer, 0, limit + 1, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

// Where the JSON is broken, by line and column. Not the parser's own message:
// it quotes the text around the error, which may be the password hash.
function syntaxErrorAt(text: string, message: string): string {
  const position = /at position (\d+)/.exec(message);
  if (!position) return 'JSON syntax error';
  const before = text.slice(0, Number(position[1]));
  const line = before.split('\n').length;
  return `JSON syntax error at line ${line}, column ${before.length - before.lastIndexOf('\n')}`;
}

export async function readAnswers(path: string): Promise<Answers> {
  const info = await stat(path).catch((error: unknown) => {
    throw new AnswerError('answers', `The answer file ${path} cannot be read`, `${errorMessage(error)}\nGive the path of an answer file (install.json) or of the folder holding it.`);
  });
  const file = info.isDirectory() ? join(path, ANSWER_FILE_NAME) : path;
  const bytes = await readBounded(file, MAX_ANSWER_BYTES).catch((error: unknown) => {
    throw new AnswerError('answers', `The answer file ${file} cannot be read`, `${errorMessage(error)}\n${info.isDirectory() ? `The folder ${path} holds no ${ANSWER_FILE_NAME}. ` : ''}Give the path of an answer file (install.json) or of the folder holding it.`);
  });
  if (bytes.length > MAX_ANSWER_BYTES) throw new AnswerError('answers', `The answer file ${file} is too large`, `An answer file is a few hundred bytes; this one is over ${MAX_ANSWER_BYTES / 1024} KiB. Check that ${file} is the right file.`);
  const text = bytes.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new AnswerError('(file)', `${file} is not valid JSON`, `${syntaxErrorAt(text, errorMessage(error))}. An answer file is one JSON object; check quotes, commas and braces there (jq . ${file} shows where). Nothing was written to any disk.`);
  }
  const answers = checkAnswers(value, file);
  if (answers.layout?.encrypt) answers.layout.encrypt.passphraseBytes = await passphraseLength(answers.layout.encrypt.passphraseFile, file);
  return answers;
}

// The passphrase's length in bytes: the file's, less one trailing newline (an
// editor adds one; it is not typed at boot). The passphrase itself is never read into a message.
export async function passphraseLength(passphraseFile: string, answerFile: string): Promise<number> {
  const field = 'layout.encrypt.passphraseFile';
  const fix = `Fix "${field}" in ${answerFile}, then start the install again. Nothing was written to any disk.`;
  const info = await stat(passphraseFile).catch((error: unknown) => {
    throw new AnswerError(field, `The passphrase file ${passphraseFile} cannot be read`, `${errorMessage(error)}\n"${field}" must name a file holding the LUKS passphrase (a relative path is relative to the answer file's folder). ${fix}`);
  });
  if (!info.isFile()) throw new AnswerError(field, `The passphrase file ${passphraseFile} is not a file`, `"${field}" names something that is not a regular file. ${fix}`);
  const bytes = await readBounded(passphraseFile, MAX_PASSPHRASE_BYTES + 2);
  let length = bytes.length;
  if (bytes[length - 1] === 0x0a) length -= bytes[length - 2] === 0x0d ? 2 : 1;
  bytes.fill(0);
  if (length <= 0) throw new AnswerError(field, `The passphrase file ${passphraseFile} is empty`, `An empty passphrase would leave the disk unprotected. Write the passphrase into ${passphraseFile}. ${fix}`);
  if (length > MAX_PASSPHRASE_BYTES) throw new AnswerError(field, `The passphrase in ${passphraseFile} is too long`, `It has more than ${MAX_PASSPHRASE_BYTES} bytes, more than can be typed at boot. ${fix}`);
  return length;
}
