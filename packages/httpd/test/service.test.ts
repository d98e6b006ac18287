import { describe, expect, it } from 'vitest';
import { chooseHttpSocket, parseListenFds } from '../src/cluster/socket-activation.js';
import { parseUpgradeEnv } from '../src/cluster/upgrade.js';
import { notificationText } from '../src/cluster/sd-notify.js';

const PID = 4242;

describe('parseListenFds: the sd_listen_fds(3) protocol', () => {
  const cases: [string, Record<string, string>, ReturnType<typeof parseListenFds>][] = [
    ['no variables: not socket-activated', {}, { kind: 'none' }],
    ['LISTEN_PID of another process: meant for someone else, ignored', { LISTEN_FDS: '1', LISTEN_PID: '1' }, { kind: 'none' }],
    ['no LISTEN_PID: ignored, as sd_listen_fds does', { LISTEN_FDS: '1' }, { kind: 'none' }],
    ['one socket, unnamed: fd 3 named "unknown"', { LISTEN_FDS: '1', LISTEN_PID: String(PID) }, { kind: 'fds', fds: [{ fd: 3, name: 'unknown' }] }],
    [
      'two named sockets from fd 3 (SD_LISTEN_FDS_START)',
      { LISTEN_FDS: '2', LISTEN_PID: String(PID), LISTEN_FDNAMES: 'http:https' },
      { kind: 'fds', fds: [{ fd: 3, name: 'http' }, { fd: 4, name: 'https' }] },
    ],
  ];
  it.each(cases)('%s', (_name, env, expected) => {
    expect(parseListenFds(env, PID)).toEqual(expected);
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['LISTEN_FDS not a number', { LISTEN_FDS: 'x', LISTEN_PID: String(PID) }, /LISTEN_FDS="x" is not a count/],
    ['LISTEN_FDS zero', { LISTEN_FDS: '0', LISTEN_PID: String(PID) }, /LISTEN_FDS="0"/],
    ['more names than sockets', { LISTEN_FDS: '1', LISTEN_PID: String(PID), LISTEN_FDNAMES: 'http:https' }, /names 2 sockets but LISTEN_FDS is 1/],
  ];
  it.each(bad)('refused with a message: %s', (_name, env, message) => {
    const r = parseListenFds(env, PID);
    expect(r.kind).toBe('error');
    expect(r.kind === 'error' && r.message).toMatch(message);
  });
});

describe('chooseHttpSocket', () => {
  it.each([
    ['the only socket, whatever its name', [{ fd: 3, name: 'webroot-httpd' }], { kind: 'fd', fd: { fd: 3, name: 'webroot-httpd' } }],
    ['the one named http among several', [{ fd: 3, name: 'https' }, { fd: 4, name: 'http' }], { kind: 'fd', fd: { fd: 4, name: 'http' } }],
  ])('%s', (_name, fds, expected) => {
    expect(chooseHttpSocket(fds)).toEqual(expected);
  });
  it.each([
    ['several, none named http', [{ fd: 3, name: 'a' }, { fd: 4, name: 'b' }], /none is named "http"; set FileDescriptorName=http/],
    ['two named http', [{ fd: 3, name: 'http' }, { fd: 4, name: 'http' }], /2 inherited sockets are named "http"/],
  ])('refused: %s', (_name, fds, message) => {
    const r = chooseHttpSocket(fds);
    expect(r.kind === 'error' && r.message).toMatch(message);
  });
});

describe('parseUpgradeEnv: the hand-over from an old primary', () => {
  it.each([
    ['none', {}, { kind: 'none' }],
    [
      'fds, ready pipe, old PID',
      { WEBROOT_UPGRADE_FDS: '3:http,4:https', WEBROOT_UPGRADE_READY_FD: '5', WEBROOT_UPGRADE_FROM: '99' },
      { kind: 'handoff', handoff: { fds: [{ fd: 3, name: 'http' }, { fd: 4, name: 'https' }], readyFd: 5, fromPid: 99 } },
    ],
  ])('%s', (_name, env, expected) => {
    expect(parseUpgradeEnv(env)).toEqual(expected);
  });
  it.each([
    ['malformed fd list', { WEBROOT_UPGRADE_FDS: 'three', WEBROOT_UPGRADE_READY_FD: '4', WEBROOT_UPGRADE_FROM: '1' }, /malformed/],
    ['no ready fd', { WEBROOT_UPGRADE_FDS: '3:http', WEBROOT_UPGRADE_FROM: '1' }, /must be numbers/],
  ])('refused: %s', (_name, env, message) => {
    const r = parseUpgradeEnv(env);
    expect(r.kind === 'error' && r.message).toMatch(message);
  });
});

describe('notificationText: sd_notify(3) VAR=value lines', () => {
  it('joins fields with newlines in order', () => {
    expect(notificationText({ READY: 1, MAINPID: 7, STATUS: 'serving' })).toBe('READY=1\nMAINPID=7\nSTATUS=serving');
  });
  it.each([
    ['a value with a newline', { STATUS: 'a\nREADY=1' }],
    ['a lower-case name', { ready: 1 }],
  ])('refuses %s', (_name, fields) => {
    expect(() => notificationText(fields)).toThrow(/bad sd_notify field/);
  });
});
