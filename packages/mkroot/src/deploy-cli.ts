import type { Command } from 'commander';
import { shortDigest } from '@webroot/format/manifest';
import { formatBytes } from './format-units.js';
import { keygen } from './keygen.js';
import { compareNodes, fetchNodeStatus, formatSummary } from './node-status.js';
import { publish } from './publish.js';

/** The release-channel commands: keygen, publish, status (packages/mkroot/README.md "Release channels"). */
export function deployCommands(program: Command, report: (err: unknown) => never): void {
  program
    .command('keygen')
    .description('make an Ed25519 key pair to sign release manifests: KEY (private, mode 0600) and KEY.pub (give it to the nodes)')
    .argument('<KEY>', 'private key file to write, e.g. ~/.config/webroot/release.key')
    .option('--force', 'replace existing key files')
    .action(async (file: string, opts: { force?: boolean }) => {
      try {
        const r = await keygen(file, opts);
        process.stdout.write(`mkroot: wrote ${r.privateFile} (private, keep it secret) and ${r.publicFile}\npublic key: ${r.publicBase64}\n`);
      } catch (err) {
        report(err);
      }
    });

  program
    .command('publish')
    .description(
      'publish a webroot to a release channel that nodes follow: the file as <digest>.webroot, then, last, the signed manifest <host>.json',
    )
    .argument('[SITE]', 'webroot file to publish (not with --promote/--rollback)')
    .requiredOption('--channel <DIR|URL>', 'the channel: a directory (atomic writes) or an http(s) URL that accepts PUT')
    .requiredOption('--key <KEY>', 'private key file from mkroot keygen')
    .option('--host <HOST>', "the host it is for (default: SITE's file name without .webroot)")
    .option('--stage', 'upload it and offer it at its preview host, without switching the nodes to it')
    .option('--promote <DIGEST>', 'switch the nodes to a release already in the channel (e.g. a staged one)')
    .option('--rollback <DIGEST>', 'switch the nodes back to an earlier release, marked so that they accept going back')
    .action(async (site: string | undefined, opts: { channel: string; key: string; host?: string; stage?: boolean; promote?: string; rollback?: string }) => {
      try {
        const r = await publish({ site, ...opts });
        const m = r.manifest;
        const what = r.action === 'stage' ? m.staged! : m;
        const verb = { publish: 'published', stage: 'staged', promote: 'promoted', rollback: 'rolled back to' }[r.action];
        process.stdout.write(
          `mkroot: ${r.host}: ${verb} ${shortDigest(what.digest)} (${formatBytes(what.size)}${r.uploaded ? '' : ', already in the channel'}) in ${opts.channel}, manifest created ${m.created}\n`,
        );
        if (r.action === 'stage') process.stdout.write(`preview: http://${shortDigest(what.digest)}.preview.${r.host}/ once the nodes have it; mkroot publish --promote ${what.digest} switches\n`);
      } catch (err) {
        report(err);
      }
    });

  program
    .command('status')
    .description("ask each node's --status listener which release it serves for each host, and say whether they agree (exit 1 if not)")
    .requiredOption('--nodes <URL,URL,...>', 'status listeners of the nodes, e.g. http://10.0.0.1:9100,http://10.0.0.2:9100')
    .option('--host <HOST>', 'only this host')
    .option('--json', 'print JSON')
    .action(async (opts: { nodes: string; host?: string; json?: boolean }) => {
      try {
        const nodes = opts.nodes.split(',').map((n) => n.trim()).filter(Boolean);
        const reports = await Promise.all(nodes.map((n) => fetchNodeStatus(n)));
        const summary = compareNodes(reports, opts.host);
        process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummary(summary).join('\n')}\n`);
        process.exitCode = summary.agree ? 0 : 1;
      } catch (err) {
        report(err);
      }
    });
}
