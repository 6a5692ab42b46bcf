"""The help centre's first articles, loaded by ``mgd demo``: the portal's own flows (registration, sign-in,
invoices, lines) told in Spanish and English. Loading them again leaves existing articles as they are."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mgd.db import utcnow
from mgd.helpcentre.models import HelpArticle
from mgd.helpcentre.services import ArticleText
from mgd.helpcentre.text import fold

ARTICLES = (
    ArticleText(
        slug="registrar-mi-empresa",
        category="registration",
        title_es="Cómo registrar tu empresa (pequeña y mediana empresa)",
        title_en="How to register your company (small and medium businesses)",
        body_es="""Si tu empresa es una pequeña o mediana empresa, puedes darte de alta tú mismo desde el enlace **¿Eres una empresa? Solicita tu usuario Administrador** de la página [Iniciar sesión](/login), o directamente en [Registrarse](/register).

## Lo que necesitas

- El identificador fiscal de la empresa: CIF o NIF.
- El correo electrónico que tenemos como interlocutor de la empresa.
- Un teléfono fijo o móvil de la empresa.
- La cuenta bancaria (IBAN) donde se pagan las líneas.

## Los pasos

1. Escribe el CIF o NIF y el correo del interlocutor. Si el correo no es el de un interlocutor conocido, el registro se detiene: llama al 1489 y tu asesor lo revisará contigo.
2. Escribe un teléfono de la empresa. Si es un fijo, te pediremos además un móvil de la empresa para enviarte el código.
3. Escribe la cuenta bancaria de tus líneas fijas, de tus líneas móviles o de ambas.
4. Escribe el código de seguridad que te enviamos por SMS (o por correo si solo tienes líneas fijas).

Al terminar eres el **administrador web** de tu empresa: te enviamos por correo una contraseña temporal que cambiarás la primera vez que entres.""",
        body_en="""If your company is a small or medium business, you can register it yourself from the link **Are you a company? Ask for your Administrator user** on the [Sign in](/login) page, or directly at [Register](/register).

## What you need

- Your company's fiscal ID: CIF or NIF.
- The email address we have as your company's contact.
- A fixed or mobile phone number of the company.
- The bank account (IBAN) where your lines are paid.

## The steps

1. Type the CIF or NIF and the contact's email. If the email is not one of a contact we know, the registration stops: call 1489 and your advisor will check it with you.
2. Type a phone number of the company. If it is a fixed line, we will also ask for a mobile of the company to send you the code.
3. Type the bank account of your fixed lines, of your mobile lines, or of both.
4. Type the security code we send you by SMS (or by email if you only have fixed lines).

When you finish you are your company's **web administrator**: we email you a temporary password, which you change the first time you sign in.""",
    ),
    ArticleText(
        slug="grandes-clientes",
        category="registration",
        title_es="Grandes Clientes: cómo pedir acceso",
        title_en="Large accounts (Grandes Clientes): how to ask for access",
        body_es="""Las empresas del segmento Grandes Clientes no se registran solas: envían una solicitud de acceso y un asesor la revisa.

1. Abre [la solicitud de Grandes Clientes](/register/gran-cliente) y rellena los datos de la empresa y de la persona que será su interlocutor autorizado.
2. Un asesor comprueba los datos con tu empresa y aprueba o rechaza la solicitud. Si la rechaza, te explica el motivo por correo.
3. Si la aprueba, recibes por correo tu usuario y una contraseña temporal.

Si tienes dudas sobre tu solicitud, llama al 1489.""",
        body_en="""Companies of the Grandes Clientes segment do not register themselves: they send an access request, which an advisor reviews.

1. Open [the Grandes Clientes request](/register/gran-cliente) and fill in the company's details and those of the person who will be its authorised contact.
2. An advisor checks the details with your company and approves or rejects the request. If it is rejected, the email tells you why.
3. If it is approved, you receive your user and a temporary password by email.

If you have questions about your request, call 1489.""",
    ),
    ArticleText(
        slug="iniciar-sesion-con-el-movil",
        category="sign_in",
        title_es="Iniciar sesión con tu correo o tu número de móvil",
        title_en="Signing in with your email or your mobile number",
        body_es="""En [Iniciar sesión](/login) puedes escribir tu **correo electrónico** o tu **número de móvil**, el mismo en el que recibes los códigos (por ejemplo 612 34 56 78 o +34 612345678), y tu contraseña.

Después eliges dónde recibir el **código de seguridad** de un solo uso: por SMS a tu móvil, por correo o con tu aplicación de autenticación. El código tiene 6 cifras.

- Si compartes el número de móvil con otra persona del portal, el móvil no sirve para entrar: usa tu correo.
- La primera vez que entras con una contraseña temporal, el portal te pide que elijas una nueva.
- Tras 10 intentos fallidos seguidos la cuenta se bloquea un tiempo y te avisamos por correo.""",
        body_en="""On [Sign in](/login) you can type your **email address** or your **mobile number**, the one where you receive your codes (for example 612 34 56 78 or +34 612345678), and your password.

Then you choose where to receive the one-time **security code**: by SMS to your mobile, by email, or from your authenticator app. The code has 6 digits.

- If you share your mobile number with another person of the portal, the mobile cannot be used to sign in: use your email.
- The first time you sign in with a temporary password, the portal asks you to choose a new one.
- After 10 failed attempts in a row the account is locked for a while and we let you know by email.""",
    ),
    ArticleText(
        slug="he-olvidado-mi-contrasena",
        category="sign_in",
        title_es="He olvidado mi contraseña",
        title_en="I have forgotten my password",
        body_es="""En la página de inicio de sesión pulsa **¿Has olvidado tu contraseña?** y escribe tu correo. Te enviamos un código de seguridad por SMS o por correo; con él eliges una contraseña nueva.

La contraseña debe tener entre 8 y 20 caracteres, con al menos una minúscula, una mayúscula y una cifra.

Si no recibes el código, espera un minuto antes de pedir otro y revisa la carpeta de correo no deseado.""",
        body_en="""On the sign-in page choose **Forgotten your password?** and type your email. We send you a security code by SMS or email; with it you choose a new password.

The password must have 8 to 20 characters, with at least one lower-case letter, one capital and one digit.

If the code does not arrive, wait a minute before asking for another and check your spam folder.""",
    ),
    ArticleText(
        slug="consultar-y-descargar-facturas",
        category="invoices",
        title_es="Consultar y descargar tus facturas",
        title_en="Viewing and downloading your invoices",
        body_es="""En la pestaña **Facturación** de tu empresa ves tus facturas, de la más reciente a la más antigua. Puedes filtrarlas por cuenta de facturación, fechas y estado (pendiente de pago, pagada, vencida, en reclamación).

- Abre una factura para ver su detalle por línea y descargarla en PDF.
- Marca varias facturas y descárgalas a la vez en un archivo ZIP.
- El **extracto** muestra cargos y pagos de un periodo, y se descarga en CSV o Excel.

Solo ven la facturación las personas a las que el administrador web de la empresa se lo permite.""",
        body_en="""In your company's **Billing** tab you see your invoices, newest first. You can filter them by billing account, dates and status (pending payment, paid, overdue, disputed).

- Open an invoice to see its details by line and download it as a PDF.
- Tick several invoices and download them at once in a ZIP file.
- The **statement** shows the charges and payments of a period, and can be downloaded as CSV or Excel.

Only the people your company's web administrator allows can see the billing.""",
    ),
    ArticleText(
        slug="cambiar-la-cuenta-bancaria",
        category="invoices",
        title_es="Cambiar la cuenta bancaria o el envío de las facturas",
        title_en="Changing the bank account or how invoices are delivered",
        body_es="""En **Facturación › Ajustes de facturación** cada cuenta de facturación tiene su dirección, su forma de envío de facturas y su domiciliación bancaria.

- **Envío**: en papel por correo postal, o factura electrónica a los correos que elijas (uno por línea).
- **Domiciliación**: escribe el nuevo IBAN; para confirmarlo te enviamos un código de seguridad.

Los cambios se aplican a las facturas siguientes y quedan registrados en la actividad de la empresa.""",
        body_en="""In **Billing › Billing settings** each billing account has its address, how its invoices are delivered and its direct debit.

- **Delivery**: on paper by post, or the electronic invoice to the email addresses you choose (one per line).
- **Direct debit**: type the new IBAN; to confirm it we send you a security code.

Changes apply to the following invoices and are recorded in your company's activity.""",
    ),
    ArticleText(
        slug="gestionar-tus-lineas",
        category="lines",
        title_es="Ver y ordenar las líneas de tu empresa",
        title_en="Viewing and organising your company's lines",
        body_es="""La pestaña **Líneas** muestra las líneas fijas y móviles de tu empresa con su tarifa y su estado. Puedes buscar por número o alias, filtrar por tipo, producto, estado o tarifa, y exportar la lista a CSV o Excel.

En cada línea el administrador puede poner:

- un **alias** que la identifique (por ejemplo «Recepción»),
- un **centro de coste**, para repartir el gasto,
- la **persona** a la que está asignada.

Para asignar muchas líneas a la vez, usa **Asignar desde un CSV**. El consumo de cada línea está en la pestaña **Consumo**.""",
        body_en="""The **Lines** tab shows your company's fixed and mobile lines with their tariff and status. You can search by number or alias, filter by kind, product, status or tariff, and export the list to CSV or Excel.

On each line the administrator can set:

- an **alias** that identifies it (for example "Reception"),
- a **cost centre**, to share out the spend,
- the **person** it is assigned to.

To assign many lines at once, use **Assign from a CSV file**. Each line's consumption is in the **Consumption** tab.""",
    ),
)


def add_demo_articles(session: Session) -> int:
    """Add and publish the articles whose address is still free; how many were added."""
    taken = set(session.scalars(select(HelpArticle.slug)))
    added = 0
    for text in ARTICLES:
        if text.slug in taken:
            continue
        session.add(
            HelpArticle(
                **vars(text),
                search_es=fold(f"{text.title_es} {text.body_es}"),
                search_en=fold(f"{text.title_en} {text.body_en}"),
                published=True,
                published_at=utcnow(),
            )
        )
        added += 1
    session.flush()
    return added
