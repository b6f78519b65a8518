import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generate } from "selfsigned";

/**
 * TestCertificate is a throwaway self-signed certificate for 127.0.0.1 and
 * localhost, written to a temporary directory.
 */
export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** The certificate in PEM, which clients trust as their CA. */
  cert: string;
  remove(): Promise<void>;
}

/**
 * createTestCertificate generates the certificate at run time, so no key
 * is ever checked in.
 */
export async function createTestCertificate(): Promise<TestCertificate> {
  const pems = await generate([{ name: "commonName", value: "localhost" }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notAfterDate: new Date(Date.now() + 24 * 3600_000),
    extensions: [
      { name: "basicConstraints", cA: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] },
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), "stockify-tls-"));
  const certFile = join(dir, "cert.pem");
  const keyFile = join(dir, "key.pem");
  await writeFile(certFile, pems.cert);
  await writeFile(keyFile, pems.private, { mode: 0o600 });
  return { certFile, keyFile, cert: pems.cert, remove: () => rm(dir, { recursive: true }) };
}
