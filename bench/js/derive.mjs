// Local wallet derivation as Eliza's TEE plugin does it, with the libraries it
// uses: the SDK's DeriveKeyResponse.asUint8Array() (PEM → DER), then
// Solana: SHA-256 → Keypair.fromSeed → base58, EVM: keccak256 → privateKeyToAccount.
// Same PEM as bench_derive.c (plugin-tee.json derive_fixed_openssl).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { TappdClient } from '@phala/dstack-sdk';
import { Keypair } from '@solana/web3.js';
import { keccak256 } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { benchSync, check, fakeTappd, VECTORS } from './harness.mjs';

const v = JSON.parse(fs.readFileSync(`${VECTORS}/plugin-tee.json`, 'utf8')).derive_fixed_openssl;
const tappd = await fakeTappd({ key: v.pem, certificate_chain: [] });
const resp = await new TappdClient(tappd.url).deriveKey('bench', 'bench');
tappd.close();

const solana = (der) => Keypair.fromSeed(crypto.createHash('sha256').update(der).digest()).publicKey.toBase58();
const evm = (der) => privateKeyToAccount(keccak256(der)).address;

check(solana(resp.asUint8Array()) === v.solana_pubkey_base58, 'Solana address differs from the vector');
check(evm(resp.asUint8Array()) === v.evm_address, 'EVM address differs from the vector');

benchSync('derive.solana', () => solana(resp.asUint8Array()));
benchSync('derive.evm', () => evm(resp.asUint8Array()));
benchSync('derive.both', () => {
	const der = resp.asUint8Array();
	return [solana(der), evm(der)];
});
